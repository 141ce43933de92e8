-- Changes to every table of shapes.sql but orders_1 and orders_2, undone by a replace restore in the tests.
UPDATE tagged SET doc = '{}' WHERE code LIKE 'k1%';
DELETE FROM keyless WHERE a < 10;
INSERT INTO keyless VALUES (1, 'extra');
UPDATE measures SET v = 0 WHERE id % 3 = 0;
DELETE FROM shaped WHERE id % 4 = 0;
UPDATE "Odd Schema"."Odd Name" SET "v v" = 0;
DELETE FROM child WHERE id % 5 = 0;
UPDATE parent SET name = 'changed';
