/* SPDX-License-Identifier: LGPL-2.1-or-later */

/*
 * "nestvirtctl monitor": prints every change of the interface's properties until SIGINT or
 * SIGTERM, one line per property: "2026-01-02 10:11:12 Nested: enabled → disabled", or with
 * --json one object per line.
 *
 * The monitor calls Subscribe(), so nestvirtd does not exit on idle while it watches, and changes
 * made behind the daemon's back (a module reloaded by hand, an edited modprobe.d file) are printed
 * as they happen. An instance can still go away (stopped, restarted, or one without Subscribe), and
 * while none runs nobody announces anything. So the monitor also watches the bus name: whenever an
 * instance appears it subscribes again, fetches all properties and prints what differs from the
 * values it saw last. A change that happened while no instance ran is reported when the next one
 * comes up, once, and a restart by itself prints nothing.
 */

#include <signal.h>
#include <stdio.h>
#include <unistd.h>

#include <glib-unix.h>
#include <json-glib/json-glib.h>

#include "nestvirt-bus.h"

#include "bus.h"
#include "json-output.h"
#include "nested-text.h"
#include "nestvirt-client.h"
#include "text.h"
#include "verbs.h"

typedef struct {
        NvCtl *ctl;
        GDBusConnection *bus;
        GMainLoop *loop;
        GHashTable *last; /* property name -> GVariant: the values seen last */
        GCancellable *cancel;
        guint n_pending; /* GetAll calls in flight: drained before the Monitor goes away */
        const char *arrow;
        NvExitCode result;
} Monitor;

static char *now_text(gboolean json)
{
        g_autoptr(GDateTime) t = json ? g_date_time_new_now_utc() : g_date_time_new_now_local();

        /* JSON: ISO 8601 in UTC with microseconds, for programs; else local time for people. */
        return json ? g_date_time_format_iso8601(t) : g_date_time_format(t, "%Y-%m-%d %H:%M:%S");
}

static void append_value(GString *out, GVariant *v);

/* NestedSettings as status shows it: "nested=0 (disabled) in /etc/modprobe.d/kvm.conf". */
static void append_settings(GString *out, GVariant *v)
{
        const char *source, *value, *effect;
        GVariantIter iter;
        gboolean first = TRUE;

        g_variant_iter_init(&iter, v);
        while (g_variant_iter_next(&iter, "(&s&s&s)", &source, &value, &effect)) {
                g_autofree char *text = g_strdup_printf("nested=%s (%s) %s %s", value, effect,
                        g_str_equal(source, NV_SOURCE_KERNEL_CMDLINE) ? "on" : "in",
                        nv_source_phrase(source));
                g_autofree char *safe = nv_text_printable(text);

                g_string_append_printf(out, "%s%s", first ? "" : "; ", safe);
                first = FALSE;
        }
}

static void append_value(GString *out, GVariant *v)
{
        switch (g_variant_classify(v)) {
        case G_VARIANT_CLASS_STRING:
        case G_VARIANT_CLASS_OBJECT_PATH:
        case G_VARIANT_CLASS_SIGNATURE: {
                const char *s = g_variant_get_string(v, NULL);
                g_autofree char *safe = nv_text_printable(s);

                g_string_append(out, *s ? safe : "(none)");
                break;
        }
        case G_VARIANT_CLASS_BOOLEAN:
                g_string_append(out, g_variant_get_boolean(v) ? "yes" : "no");
                break;
        case G_VARIANT_CLASS_VARIANT: {
                g_autoptr(GVariant) inner = g_variant_get_variant(v);

                append_value(out, inner);
                break;
        }
        case G_VARIANT_CLASS_ARRAY:
                if (g_variant_n_children(v) == 0)
                        g_string_append(out, "(none)");
                else if (g_variant_is_of_type(v, G_VARIANT_TYPE("a(sss)")))
                        append_settings(out, v);
                else
                        for (gsize i = 0; i < g_variant_n_children(v); i++) {
                                g_autoptr(GVariant) child = g_variant_get_child_value(v, i);

                                if (i > 0)
                                        g_string_append(out, ", ");
                                append_value(out, child);
                        }
                break;
        default: {
                g_autofree char *text = g_variant_print(v, FALSE);
                g_autofree char *safe = nv_text_printable(text);

                g_string_append(out, safe);
                break;
        }
        }
}

static char *value_text(GVariant *v)
{
        GString *out = g_string_new(NULL);

        if (v)
                append_value(out, v);
        else
                g_string_append(out, "(unknown)");
        return g_string_free(out, FALSE);
}

static void print_json_line(JsonObject *o)
{
        JsonNode *root = json_node_init_object(json_node_alloc(), o);

        /* One object per line, whatever --json asked for: the stream is read line by line. */
        (void) nv_json_print_node(root, NV_JSON_SHORT);
        json_node_unref(root);
}

static void print_change(Monitor *m, const char *name, GVariant *old, GVariant *new)
{
        g_autofree char *time = now_text(m->ctl->json != NV_JSON_OFF);

        if (m->ctl->json != NV_JSON_OFF) {
                g_autoptr(JsonObject) o = json_object_new();

                json_object_set_string_member(o, "time", time);
                json_object_set_string_member(o, "type", "change");
                json_object_set_string_member(o, "property", name);
                json_object_set_member(
                        o, "old", old ? nv_json_property_node(name, old) : json_node_new(JSON_NODE_NULL));
                json_object_set_member(o, "new", nv_json_property_node(name, new));
                print_json_line(o);
        } else {
                g_autofree char *safe_name = nv_text_printable(name);
                g_autofree char *old_s = value_text(old), *new_s = value_text(new);

                printf("%s %s: %s %s %s\n", time, safe_name, old_s, m->arrow, new_s);
        }
        /* A reader at the other end of a pipe wants each line as it happens. */
        fflush(stdout);
}

/* Records a value, printing it when it differs from the last one seen. */
static void note_value(Monitor *m, const char *name, GVariant *value)
{
        GVariant *old = g_hash_table_lookup(m->last, name);

        if (old && g_variant_equal(old, value))
                return;
        print_change(m, name, old, value);
        g_hash_table_replace(m->last, g_strdup(name), g_variant_ref(value));
}

static void note_all(Monitor *m, GVariant *props)
{
        GVariantIter iter;
        const char *name;
        GVariant *value;

        g_variant_iter_init(&iter, props);
        while (g_variant_iter_loop(&iter, "{&sv}", &name, &value))
                note_value(m, name, value);
}

static void on_get_all(GObject *source, GAsyncResult *res, gpointer userdata)
{
        Monitor *m = userdata;
        g_autoptr(GError) error = NULL;
        g_autoptr(GVariant) props = NULL;

        m->n_pending--;
        props = nv_client_get_all_finish(G_DBUS_CONNECTION(source), res, &error);
        if (!props) {
                /* The instance may have gone again already; the next one is fetched anew. */
                if (!g_error_matches(error, G_IO_ERROR, G_IO_ERROR_CANCELLED))
                        g_debug("GetAll failed: %s", error->message);
                return;
        }
        note_all(m, props);
}

static void on_subscribed(GObject *source, GAsyncResult *res, gpointer userdata)
{
        Monitor *m = userdata;
        g_autoptr(GError) error = NULL;

        m->n_pending--;
        /* Without the subscription the monitor still works, only until the daemon's idle exit. */
        if (!nv_client_subscribe_finish(G_DBUS_CONNECTION(source), res, &error) &&
                !g_error_matches(error, G_IO_ERROR, G_IO_ERROR_CANCELLED))
                g_debug("Subscribe failed: %s", error->message);
}

/* Keeps the instance that owns the name now from exiting on idle while the monitor runs. */
static void subscribe(Monitor *m)
{
        m->n_pending++;
        nv_client_subscribe_async(m->bus, m->cancel, on_subscribed, m);
}

static void refresh(Monitor *m)
{
        m->n_pending++;
        nv_client_get_all_async(m->bus, m->cancel, on_get_all, m);
}

static void on_properties_changed(GVariant *changed, const char *const *invalidated, gpointer userdata)
{
        Monitor *m = userdata;

        note_all(m, changed);
        /* The contract has no invalidating property, but one fetch covers any. */
        if (invalidated && invalidated[0])
                refresh(m);
}

static void on_name_appeared(GDBusConnection *bus, const char *name, const char *owner, gpointer userdata)
{
        g_debug("%s is owned by %s", name, owner);
        /* A new instance knows no subscribers. Subscribing twice to one instance changes nothing. */
        subscribe(userdata);
        refresh(userdata);
}

static void on_name_vanished(GDBusConnection *bus, const char *name, gpointer userdata)
{
        /* nestvirtd exits when idle: normal, and nothing to print. */
        g_debug("%s has no owner", name);
}

static void on_closed(GDBusConnection *bus, gboolean remote_peer_vanished, GError *error, gpointer userdata)
{
        Monitor *m = userdata;

        g_printerr("Lost the connection to the bus%s%s.\n", error ? ": " : "", error ? error->message : "");
        m->result = NV_EXIT_FAILURE;
        g_main_loop_quit(m->loop);
}

static gboolean on_signal(gpointer userdata)
{
        Monitor *m = userdata;

        m->result = NV_EXIT_SUCCESS;
        g_main_loop_quit(m->loop);
        return G_SOURCE_CONTINUE;
}

static void print_start(Monitor *m, GVariant *props)
{
        static const char *const shown[] = { "Nested", "NestedNextLoad", "VMCount" };
        g_autofree char *time = now_text(m->ctl->json != NV_JSON_OFF);

        if (m->ctl->json != NV_JSON_OFF) {
                g_autoptr(JsonObject) o = json_object_new();
                g_autoptr(JsonObject) p = json_object_new();
                GVariantIter iter;
                const char *name;
                GVariant *value;

                g_variant_iter_init(&iter, props);
                while (g_variant_iter_loop(&iter, "{&sv}", &name, &value))
                        json_object_set_member(p, name, nv_json_property_node(name, value));
                json_object_set_string_member(o, "time", time);
                json_object_set_string_member(o, "type", "state");
                json_object_set_object_member(o, "properties", g_steal_pointer(&p));
                print_json_line(o);
        } else {
                GString *line = g_string_new(NULL);

                for (size_t i = 0; i < G_N_ELEMENTS(shown); i++) {
                        GVariant *v = g_hash_table_lookup(m->last, shown[i]);
                        g_autofree char *text = NULL;

                        if (!v)
                                continue;
                        text = value_text(v);
                        g_string_append_printf(line, "%s%s: %s", line->len ? ", " : "", shown[i], text);
                }
                printf("%s Watching nestvirtd for changes (%s).%s\n", time, line->str,
                        isatty(STDOUT_FILENO) ? " Press Ctrl+C to stop." : "");
                g_string_free(line, TRUE);
        }
        fflush(stdout);
}

NvExitCode nv_verb_monitor(NvCtl *ctl, int argc, char **argv)
{
        g_autoptr(GVariant) props = NULL;
        g_autoptr(GMainLoop) loop = NULL;
        g_autoptr(GHashTable) last = NULL;
        g_autoptr(GCancellable) cancel = NULL;
        g_autoptr(GError) error = NULL;
        guint sub, watch, sigint, sigterm;
        gulong closed;
        GDBusConnection *bus;
        NvExitCode r;
        Monitor m;

        r = nv_bus_get(ctl, &bus);
        if (r != NV_EXIT_SUCCESS)
                return r;

        loop = g_main_loop_new(NULL, FALSE);
        last = g_hash_table_new_full(g_str_hash, g_str_equal, g_free, (GDestroyNotify) g_variant_unref);
        cancel = g_cancellable_new();
        m = (Monitor){
                .ctl = ctl,
                .bus = bus,
                .loop = loop,
                .last = last,
                .cancel = cancel,
                .arrow = g_get_charset(NULL) ? "→" : "->",
                .result = NV_EXIT_SUCCESS,
        };

        /* Subscribed before the first GetAll: the bus handles our messages in order, so by its
         * reply the match is in force and no change can fall between the two. */
        sub = nv_client_watch_properties(bus, on_properties_changed, &m);
        /* From here on SIGINT and SIGTERM end the monitor cleanly (a signal during the first call
         * is handled as soon as the loop runs), so whoever saw the first line may stop it. */
        sigint = g_unix_signal_add(SIGINT, on_signal, &m);
        sigterm = g_unix_signal_add(SIGTERM, on_signal, &m);

        /* Starts the daemon, reports why when it cannot, and gives the values to compare with. */
        if (!nv_client_get_all(ctl, &props, &error)) {
                g_source_remove(sigint);
                g_source_remove(sigterm);
                g_dbus_connection_signal_unsubscribe(bus, sub);
                return nv_bus_report_error(error, "query nestvirtd");
        }
        /* Before the first line: once it is printed, the daemon stays for the monitor. */
        if (!nv_client_subscribe(ctl, &error))
                g_debug("Subscribe failed: %s", error->message);
        g_clear_error(&error);
        {
                GVariantIter iter;
                const char *name;
                GVariant *value;

                g_variant_iter_init(&iter, props);
                while (g_variant_iter_loop(&iter, "{&sv}", &name, &value))
                        g_hash_table_replace(last, g_strdup(name), g_variant_ref(value));
        }

        /* The shared system bus connection would raise SIGTERM when the bus goes away. */
        g_dbus_connection_set_exit_on_close(bus, FALSE);
        closed = g_signal_connect(bus, "closed", G_CALLBACK(on_closed), &m);
        watch = g_bus_watch_name_on_connection(bus, NESTVIRT_BUS_NAME, G_BUS_NAME_WATCHER_FLAGS_NONE,
                on_name_appeared, on_name_vanished, &m, NULL);

        /* Last: the first line says the monitor is ready. */
        print_start(&m, props);

        g_main_loop_run(loop);

        g_source_remove(sigint);
        g_source_remove(sigterm);
        g_bus_unwatch_name(watch);
        g_signal_handler_disconnect(bus, closed);
        g_dbus_connection_signal_unsubscribe(bus, sub);
        /* Let the calls in flight finish (as cancelled) while m still exists. */
        g_cancellable_cancel(cancel);
        while (m.n_pending > 0)
                g_main_context_iteration(NULL, TRUE);

        return m.result;
}
