/* SPDX-License-Identifier: LGPL-2.1-or-later */
#pragma once

#include "ctl.h"

/* Sends the rest of standard output through a pager, as systemd's tools do, when it is a
 * terminal and neither --no-pager nor --json was given: $SYSTEMD_PAGER, else $PAGER, else less
 * (then more). An empty value or "cat" means no pager. less gets LESS=FRSXMK unless $LESS is
 * set, so output that fits on the screen is printed and the pager ends at once. Without any
 * pager the output goes to the terminal directly. Opening twice is harmless. */
void nv_pager_open(NvCtl *ctl);

/* Flushes standard output, ends the pipe and waits for the pager to quit. */
void nv_pager_close(NvCtl *ctl);
