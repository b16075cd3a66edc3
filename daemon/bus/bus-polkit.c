/* SPDX-License-Identifier: LGPL-2.1-or-later */
#include <assert.h>

#include "audit.h"
#include "bus-polkit.h"
#include "log.h"
#include "util.h"

#define POLKIT_TIMEOUT_USEC             (25 * UINT64_C(1000000))
#define POLKIT_INTERACTIVE_TIMEOUT_USEC (5 * 60 * UINT64_C(1000000))

typedef struct PolkitQuery Query;

/* One call waiting for polkit, then, while its handler runs again, polkit's answer. */
struct PolkitQuery {
        BusPolkit *owner;
        Query *prev, *next; /* in owner->queries */
        void *userdata; /* the handler's */
        sd_bus_message *call;
        sd_bus_message_handler_t handler;
        sd_bus_slot *slot;
        char *action;
        AuditCaller caller;
        bool interactive;
        bool answered;
        sd_bus_error denial; /* once answered: unset when authorized */
};

static void query_free(Query *q)
{
        if (!q)
                return;
        assert(q->owner->n_pending > 0);
        q->owner->n_pending--;
        if (q->prev)
                q->prev->next = q->next;
        else
                q->owner->queries = q->next;
        if (q->next)
                q->next->prev = q->prev;
        sd_bus_slot_unref(q->slot);
        sd_bus_message_unref(q->call);
        sd_bus_error_free(&q->denial);
        free(q->action);
        free(q);
}

static Query *query_find(BusPolkit *p, sd_bus_message *call)
{
        for (Query *q = p->queries; q; q = q->next)
                if (q->call == call)
                        return q;
        return NULL;
}

/* A refusal is an attempt too: it is audited like every change, once, where it is decided. */
static int deny(const AuditCaller *caller, const char *action, sd_bus_error *error, const char *name,
        const char *message)
{
        audit_change(caller, action, "-", "-", message);
        return sd_bus_error_set(error, name, message);
}

/* Answers call with what its handler returned. */
static int reply_result(sd_bus_message *call, int r, sd_bus_error *error)
{
        if (r >= 0)
                return r;
        if (sd_bus_error_is_set(error))
                return sd_bus_reply_method_error(call, error);
        return sd_bus_reply_method_errno(call, r, NULL);
}

/* Reads polkit's answer into q->denial (left unset when authorized). */
static void query_read_answer(Query *q, sd_bus_message *reply)
{
        int authorized = 0, challenge = 0, r;

        if (sd_bus_message_is_method_error(reply, NULL)) {
                const sd_bus_error *e = sd_bus_message_get_error(reply);
                log_warning("polkit could not decide on %s: %s", q->action, e->message ?: e->name);
                (void) sd_bus_error_set(&q->denial, SD_BUS_ERROR_ACCESS_DENIED,
                        "Authorization is unavailable (polkit is not running or did not answer); refusing.");
                return;
        }

        r = sd_bus_message_enter_container(reply, 'r', "bba{ss}");
        if (r >= 0)
                r = sd_bus_message_read(reply, "bb", &authorized, &challenge);
        if (r < 0)
                (void) sd_bus_error_set(&q->denial, SD_BUS_ERROR_ACCESS_DENIED,
                        "polkit sent a reply that could not be read; refusing.");
        else if (authorized)
                return;
        else if (challenge && !q->interactive)
                (void) sd_bus_error_set(&q->denial, SD_BUS_ERROR_INTERACTIVE_AUTHORIZATION_REQUIRED,
                        "Authentication is required; allow interactive authorization or run as root.");
        else
                (void) sd_bus_error_set(&q->denial, SD_BUS_ERROR_ACCESS_DENIED, "Not authorized by polkit.");
}

static int polkit_reply(sd_bus_message *reply, void *userdata, sd_bus_error *ret_error)
{
        _cleanup_(sd_bus_error_free) sd_bus_error error = SD_BUS_ERROR_NULL;
        Query *q = userdata;
        int r;

        assert(reply);
        assert(q);

        query_read_answer(q, reply);
        q->answered = true;

        /* The handler runs again from the start; at its polkit step it finds the answer. */
        r = sd_bus_message_rewind(q->call, true);
        if (r >= 0)
                r = q->handler(q->call, q->userdata, &error);
        r = reply_result(q->call, r, &error);
        if (r < 0)
                log_warning_errno(r, "Failed to answer a call: %m");
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

static int ask_polkit(Query *q, const char *const *details)
{
        _cleanup_(sd_bus_message_unrefp) sd_bus_message *m = NULL;
        sd_bus *bus = sd_bus_message_get_bus(q->call);
        int r;

        r = sd_bus_message_new_method_call(bus, &m, "org.freedesktop.PolicyKit1",
                "/org/freedesktop/PolicyKit1/Authority", "org.freedesktop.PolicyKit1.Authority",
                "CheckAuthorization");
        if (r >= 0)
                r = sd_bus_message_append(m, "(sa{sv})s", "system-bus-name", 1, "name", "s",
                        sd_bus_message_get_sender(q->call), q->action);
        if (r >= 0)
                r = append_details(m, details);
        if (r >= 0)
                r = sd_bus_message_append(m, "us", (uint32_t) (q->interactive ? 1 : 0), "");
        if (r >= 0)
                r = sd_bus_call_async(bus, &q->slot, m, polkit_reply, q,
                        q->interactive ? POLKIT_INTERACTIVE_TIMEOUT_USEC : POLKIT_TIMEOUT_USEC);
        return r;
}

int bus_verify_polkit_async(BusPolkit *p, sd_bus_message *call, sd_bus_message_handler_t handler,
        void *userdata, const char *action, const char *const *details, const AuditCaller *caller,
        sd_bus_error *error)
{
        Query *q;
        int r;

        assert(p);
        assert(call);
        assert(handler);
        assert(action);
        assert(caller);
        assert(error);

        q = query_find(p, call);
        if (q) {
                /* The handler runs again, with polkit's answer. */
                if (!q->answered)
                        return 0;
                if (!streq(q->action, action))
                        return deny(&q->caller, action, error, SD_BUS_ERROR_ACCESS_DENIED,
                                "polkit was asked about another action; refusing.");
                if (!sd_bus_error_is_set(&q->denial))
                        return 1;
                return deny(&q->caller, q->action, error, q->denial.name, q->denial.message);
        }

        if (caller->uid == 0)
                return 1;

        q = calloc(1, sizeof(Query));
        if (!q)
                return -ENOMEM;
        *q = (Query){
                .owner = p,
                .call = sd_bus_message_ref(call),
                .handler = handler,
                .userdata = userdata,
                .action = strdup(action),
                .caller = *caller,
                .interactive = sd_bus_message_get_allow_interactive_authorization(call) > 0,
                .denial = SD_BUS_ERROR_NULL,
        };
        p->n_pending++;
        q->next = p->queries;
        if (q->next)
                q->next->prev = q;
        p->queries = q;
        if (!q->action) {
                query_free(q);
                return -ENOMEM;
        }

        r = ask_polkit(q, details);
        if (r < 0) {
                log_warning_errno(r, "Failed to ask polkit: %m");
                r = deny(caller, action, error, SD_BUS_ERROR_ACCESS_DENIED,
                        "Authorization is unavailable; refusing.");
                query_free(q);
                return r;
        }
        /* polkit_reply() calls the handler again. */
        return 0;
}

AuditCaller bus_polkit_caller(BusPolkit *p, sd_bus_message *call)
{
        Query *q;

        assert(p);
        assert(call);

        q = query_find(p, call);
        return q ? q->caller : audit_caller(call);
}

void bus_polkit_queries_free(BusPolkit *p)
{
        assert(p);

        while (p->queries) {
                _cleanup_(sd_bus_error_free) sd_bus_error error = SD_BUS_ERROR_NULL;
                Query *q = p->queries;
                int r;

                (void) deny(&q->caller, q->action, &error, SD_BUS_ERROR_ACCESS_DENIED,
                        "The service is exiting before polkit answered; refusing.");
                r = sd_bus_reply_method_error(q->call, &error);
                if (r < 0)
                        log_warning_errno(r, "Failed to answer a call: %m");
                query_free(q);
        }
}
