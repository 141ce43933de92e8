// The bound on snapshot labels: every label a snapshot accepts must fit, escaped as JSON, in one export frame.
#pragma once

extern "C"
{
#include "postgres.h"
}

// Characters a label may have. JSON escaping turns one character into at most 6 bytes ("\u0001"), so the
// longest label stays far below the export frame payload (4 MB) together with the other header fields.
#define BK_LABEL_MAX_CHARS 10000

// Errors (22023) when label is longer than BK_LABEL_MAX_CHARS characters; NULL is accepted.
void bk_check_label(const char *label);
