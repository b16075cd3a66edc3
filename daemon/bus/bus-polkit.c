/* SPDX-License-Identifier: LGPL-2.1-or-later */
#include "bus-polkit.h"
#include "audit.h"
#include "log.h"

#define POLKIT_TIMEOUT_USEC             (25 * UINT64_C(1000000))
#define POLKIT_INTERACTIVE_TIMEOUT_USEC (5 * 60 * UINT64_C(1000000))

typedef struct Query {
        Daemon *daemon;
        sd_bus_message *call;
        sd_bus_slot *slot;
        char *action;
        AuditCaller caller;
        bool interactive;
        AuthorizedFn fn;
        void *userdata;
        void (*free_userdata)(void *);
} Query;

static void query_free(Query *q)
{
        if (!q)
                return;
        q->daemon->n_pending--;
        sd_bus_slot_unref(q->slot);
        sd_bus_message_unref(q->call);
        if (q->free_userdata)
                q->free_userdata(q->userdata);
        free(q->action);
        free(q);
}

static int run_authorized(sd_bus_message *call, AuthorizedFn fn, void *userdata)
{
        sd_bus_error error = SD_BUS_ERROR_NULL;
        int r = fn(call, userdata, &error);

        if (r < 0) {
                if (sd_bus_error_is_set(&error))
                        r = sd_bus_reply_method_error(call, &error);
                else
                        r = sd_bus_reply_method_errno(call, r, NULL);
        }
        sd_bus_error_free(&error);
        return r;
}

/* A refusal is an attempt too: it is audited like every change. */
static int deny(Query *q, const char *name, const char *message)
{
        audit_change(&q->caller, q->action, "-", "-", message);
        return sd_bus_reply_method_errorf(q->call, name, "%s", message);
}

static int polkit_reply(sd_bus_message *reply, void *userdata, sd_bus_error *ret_error)
{
        Query *q = userdata;
        int authorized = 0, challenge = 0, r;

        if (sd_bus_message_is_method_error(reply, NULL)) {
                const sd_bus_error *e = sd_bus_message_get_error(reply);
                log_warning("polkit could not decide on %s: %s", q->action, e->message ?: e->name);
                r = deny(q, SD_BUS_ERROR_ACCESS_DENIED,
                        "Authorization is unavailable (polkit is not running or did not answer); refusing.");
                goto finish;
        }

        r = sd_bus_message_enter_container(reply, 'r', "bba{ss}");
        if (r >= 0)
                r = sd_bus_message_read(reply, "bb", &authorized, &challenge);
        if (r < 0) {
                r = deny(q, SD_BUS_ERROR_ACCESS_DENIED,
                        "polkit sent a reply that could not be read; refusing.");
                goto finish;
        }

        if (authorized)
                r = run_authorized(q->call, q->fn, q->userdata);
        else if (challenge && !q->interactive)
                r = deny(q, SD_BUS_ERROR_INTERACTIVE_AUTHORIZATION_REQUIRED,
                        "Authentication is required; allow interactive authorization or run as root.");
        else
                r = deny(q, SD_BUS_ERROR_ACCESS_DENIED, "Not authorized by polkit.");

finish:
        if (r < 0)
                log_warning("Failed to answer a call: %s", strerror(-r));
        query_free(q);
        return 0;
}

static int append_details(sd_bus_message *m, const char *const *details)
{
        int r = sd_bus_message_open_container(m, 'a', "{ss}");
        if (r < 0)
                return r;
        for (size_t i = 0; details && details[i] && details[i + 1]; i += 2) {
                r = sd_bus_message_append(m, "{ss}", details[i], details[i + 1]);
                if (r < 0)
                        return r;
        }
        return sd_bus_message_close_container(m);
}

int bus_verify_polkit_async(Daemon *d, sd_bus_message *call, const AuditCaller *caller, const char *action,
        const char *const *details, AuthorizedFn fn, void *userdata, void (*free_userdata)(void *))
{
        _cleanup_(sd_bus_message_unrefp) sd_bus_message *m = NULL;
        Query *q = NULL;
        int r;

        if (caller->uid == 0) {
                r = run_authorized(call, fn, userdata);
                goto fail;
        }

        q = calloc(1, sizeof(Query));
        if (!q) {
                r = -ENOMEM;
                goto fail;
        }
        *q = (Query){
                .daemon = d,
                .call = sd_bus_message_ref(call),
                .action = strdup(action),
                .caller = *caller,
                .interactive = sd_bus_message_get_allow_interactive_authorization(call) > 0,
                .fn = fn,
                .userdata = userdata,
                .free_userdata = free_userdata,
        };
        d->n_pending++;
        if (!q->action) {
                query_free(q);
                return -ENOMEM;
        }

        r = sd_bus_message_new_method_call(sd_bus_message_get_bus(call), &m, "org.freedesktop.PolicyKit1",
                "/org/freedesktop/PolicyKit1/Authority", "org.freedesktop.PolicyKit1.Authority",
                "CheckAuthorization");
        if (r >= 0)
                r = sd_bus_message_append(m, "(sa{sv})s", "system-bus-name", 1, "name", "s",
                        sd_bus_message_get_sender(call), action);
        if (r >= 0)
                r = append_details(m, details);
        if (r >= 0)
                r = sd_bus_message_append(m, "us", (uint32_t) (q->interactive ? 1 : 0), "");
        if (r >= 0)
                r = sd_bus_call_async(sd_bus_message_get_bus(call), &q->slot, m, polkit_reply, q,
                        q->interactive ? POLKIT_INTERACTIVE_TIMEOUT_USEC : POLKIT_TIMEOUT_USEC);
        if (r < 0) {
                log_warning("Failed to ask polkit: %s", strerror(-r));
                r = deny(q, SD_BUS_ERROR_ACCESS_DENIED, "Authorization is unavailable; refusing.");
                query_free(q);
                return r < 0 ? r : 1;
        }
        /* Answered later, from polkit_reply(). */
        return 1;

fail:
        if (free_userdata)
                free_userdata(userdata);
        return r < 0 ? r : 1;
}
