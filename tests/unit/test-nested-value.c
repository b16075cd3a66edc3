/* SPDX-License-Identifier: LGPL-2.1-or-later */
#include <check.h>

#include "nested-value.h"
#include "util.h"

#define E NV_NESTED_ENABLED
#define D NV_NESTED_DISABLED
#define I NV_NESTED_INVALID
#define U NV_NESTED_UNKNOWN

typedef struct Case {
        const char *value;
        NvNested expected;
} Case;

static void check_cases(NvParamType type, const Case *cases, size_t n)
{
        for (size_t i = 0; i < n; i++) {
                NvNested got = nv_nested_parse_option(type, cases[i].value);
                ck_assert_msg(got == cases[i].expected, "%s \"%s\": got %s, expected %s",
                        type == NV_PARAM_BOOL ? "bool" : "int", cases[i].value ?: "(bare)",
                        nv_nested_to_string(got), nv_nested_to_string(cases[i].expected));
        }
}

START_TEST(test_to_string)
{
        ck_assert_str_eq(nv_nested_to_string(NV_NESTED_ENABLED), "enabled");
        ck_assert_str_eq(nv_nested_to_string(NV_NESTED_DISABLED), "disabled");
        ck_assert_str_eq(nv_nested_to_string(NV_NESTED_INVALID), "invalid");
        ck_assert_str_eq(nv_nested_to_string(NV_NESTED_UNKNOWN), "unknown");
        ck_assert_str_eq(nv_nested_to_string((NvNested) 42), "unknown");
}
END_TEST

/* kvm_intel: param_set_bool() -> kstrtobool(): the first character decides. */
START_TEST(test_bool)
{
        static const Case cases[] = {
                { NULL, E }, /* a bare "nested" sets the bool */
                { "Y", E }, { "y", E }, { "1", E }, { "yes", E },
                { "Yellow", E }, /* only the first character counts */
                { "10", E }, { "1\n", E }, { "on", E }, { "ON", E }, { "On", E }, { "oN", E },
                { "onward", E }, { "true", E }, { "T", E }, { "N", D }, { "n", D }, { "0", D }, { "no", D },
                { "0x1", D }, /* not a number for kstrtobool: '0' decides */
                { "off", D }, { "OFF", D }, { "oF", D }, { "false", D }, { "F", D },
                { "", I }, /* "nested=" */
                { "o", I }, { "ox", I }, { "o1", I }, { " 1", I }, /* no leading blanks */
                { "\n", I }, { "2", I }, { "-1", I }, { "enable", I }, { "enabled", I }, { "+1", I },
                { "\"1\"", I }, /* quotes are the kernel's argument syntax, not the value's */
        };
        check_cases(NV_PARAM_BOOL, cases, ELEMENTSOF(cases));
}
END_TEST

/* kvm_amd: param_set_int() -> kstrtoint(s, 0). */
START_TEST(test_int)
{
        static const Case cases[] = {
                { "1", E },
                { "0", D },
                { "2", E },
                { "-1", E }, /* non-zero is enabled */
                { "+1", E },
                { "+0", D },
                { "-0", D },
                { "00", D },
                { "0x1", E },
                { "0X1", E },
                { "0x0", D },
                { "0xff", E },
                { "0xFF", E },
                { "010", E }, /* octal 8 */
                { "07", E },
                { "1\n", E }, /* one trailing newline */
                { "0\n", D },
                { "2147483647", E },
                { "-2147483648", E },
                { "0x7fffffff", E },
                { "2147483648", I }, /* out of int range */
                { "-2147483649", I },
                { "0x80000000", I },
                { "4294967296", I },
                { "99999999999999999999999", I },
                { NULL, I }, /* the bare parameter needs a bool */
                { "", I },
                { "Y", I }, /* the classic mistake: kvm_amd fails to load */
                { "y", I },
                { "N", I },
                { "n", I },
                { "on", I },
                { "off", I },
                { "true", I },
                { "08", I }, /* 8 is no octal digit */
                { "09", I },
                { "0x", I }, /* "0x" without a hex digit is octal 0 followed by 'x' */
                { "0xg", I },
                { "1a", I },
                { "0b1", I },
                { "1.0", I },
                { " 1", I },
                { "1 ", I },
                { "\t1", I },
                { "1\n\n", I },
                { "\n", I },
                { "-", I },
                { "+", I },
                { "--1", I },
                { "+-1", I },
                { "-+1", I },
                { "1e3", I },
        };
        check_cases(NV_PARAM_INT, cases, ELEMENTSOF(cases));
}
END_TEST

START_TEST(test_unknown_type)
{
        ck_assert_int_eq(nv_nested_parse_option((NvParamType) 99, "1"), U);
}
END_TEST

START_TEST(test_live)
{
        static const Case cases[] = {
                { "Y", E },
                { "Y\n", E },
                { "y\n", E },
                { "1", E },
                { "1\n", E },
                { "N", D },
                { "N\n", D },
                { "n", D },
                { "0\n", D },
                { "0", D },
                { NULL, U },
                { "", U }, /* an empty sysfs file */
                { "\n", U },
                { "Y\n\n", U },
                { "YY", U },
                { "Yes", U },
                { "2", U },
                { "-1", U },
                { "on", U },
                { " Y", U },
                { "Y ", U },
                { "10", U },
        };

        for (size_t i = 0; i < ELEMENTSOF(cases); i++) {
                NvNested got = nv_nested_parse_live(cases[i].value);
                ck_assert_msg(got == cases[i].expected, "live \"%s\": got %s, expected %s",
                        cases[i].value ?: "(null)", nv_nested_to_string(got),
                        nv_nested_to_string(cases[i].expected));
        }
}
END_TEST

/* What the daemon writes must read back as meant by both modules. */
START_TEST(test_written_values_round_trip)
{
        ck_assert_int_eq(nv_nested_parse_option(NV_PARAM_BOOL, "1"), E);
        ck_assert_int_eq(nv_nested_parse_option(NV_PARAM_INT, "1"), E);
        ck_assert_int_eq(nv_nested_parse_option(NV_PARAM_BOOL, "0"), D);
        ck_assert_int_eq(nv_nested_parse_option(NV_PARAM_INT, "0"), D);
        ck_assert_int_eq(nv_nested_parse_live("Y\n"), E);
        ck_assert_int_eq(nv_nested_parse_live("1\n"), E);
}
END_TEST

static Suite *nested_value_suite(void)
{
        Suite *s = suite_create("nested-value");
        TCase *tc = tcase_create("parse");

        tcase_add_test(tc, test_to_string);
        tcase_add_test(tc, test_bool);
        tcase_add_test(tc, test_int);
        tcase_add_test(tc, test_unknown_type);
        tcase_add_test(tc, test_live);
        tcase_add_test(tc, test_written_values_round_trip);
        suite_add_tcase(s, tc);
        return s;
}

int main(void)
{
        SRunner *sr = srunner_create(nested_value_suite());
        int failed;

        srunner_run_all(sr, CK_NORMAL);
        failed = srunner_ntests_failed(sr);
        srunner_free(sr);
        return failed == 0 ? EXIT_SUCCESS : EXIT_FAILURE;
}
