-- backupkit install script, assembled by the Makefile from sql/install/*.sql in name order.
\echo Use "CREATE EXTENSION backupkit" to load this file. \quit
