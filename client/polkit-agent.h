/* SPDX-License-Identifier: LGPL-2.1-or-later */
#pragma once

#include <glib.h>

/* A text-mode polkit agent (pkttyagent) registered for this process, so that polkit can ask the
 * person at the terminal for a password while a call that changes something waits, as systemctl
 * does it. */
typedef struct NvPolkitAgent NvPolkitAgent;

/* Starts pkttyagent and waits until it has registered, when that can help: standard input is a
 * terminal and we are not root (root needs no authorization). Returns NULL when no agent runs,
 * including when pkttyagent is not installed: the call then goes on without one. */
NvPolkitAgent *nv_polkit_agent_open(void);

/* Stops the agent and waits for it. NULL is fine. */
void nv_polkit_agent_close(NvPolkitAgent *agent);

G_DEFINE_AUTOPTR_CLEANUP_FUNC(NvPolkitAgent, nv_polkit_agent_close)
