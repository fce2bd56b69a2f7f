// SPDX-License-Identifier: GPL-2.0-only
/*
 * compose variable interpolation (interp_expand) and .env parsing
 * (dotenv_parse): every operator with the variable unset, empty and set,
 * nesting, the list of missing variables, precedence of the process
 * environment over .env, and the syntax errors.
 */
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <cmocka.h>

#include "interp.h"

/* The process environment; UNSET is in neither list. */
static const char *const proc_env[] = {
	"SET=value",
	"EMPTY=",
	"BOTH=from-process",
	"B=bee",
	NULL,
};

/* The .env file, below the process environment. */
static char *file_env[] = {
	"BOTH=from-dotenv",
	"FILEONLY=from-dotenv",
	"FILEEMPTY=",
	NULL,
};

static const struct interp_env env = { .env = proc_env, .dotenv = file_env };

/* Per-test allocations, freed by the teardown even when an assertion fails. */
static char *out, *err, **missing;

static int teardown(void **state)
{
	(void)state;
	free(out);
	free(err);
	for (char **m = missing; m && *m; m++)
		free(*m);
	free(missing);
	out = err = NULL;
	missing = NULL;
	return 0;
}

static size_t n_missing(void)
{
	size_t n = 0;

	while (missing && missing[n])
		n++;
	return n;
}

static void reset(void)
{
	teardown(NULL);
}

/* Expands @in and checks the result; missing variables are kept for the caller. */
static void expect(const char *in, const char *want)
{
	int rc;

	reset();
	rc = interp_expand(in, &env, &out, &err, &missing);
	if (rc)
		print_message("  \"%s\": unexpected error: %s\n", in, err ? err : "(none)");
	assert_int_equal(rc, 0);
	assert_null(err);
	assert_non_null(out);
	if (strcmp(out, want))
		print_message("  \"%s\" gave \"%s\"\n", in, out);
	assert_string_equal(out, want);
}

static void expect_err(const char *in, const char *needle)
{
	int rc;

	reset();
	rc = interp_expand(in, &env, &out, &err, &missing);
	if (!rc)
		print_message("  \"%s\" was accepted as \"%s\"\n", in, out);
	assert_int_equal(rc, -EINVAL);
	assert_null(out);
	assert_non_null(err);
	if (!strstr(err, needle))
		print_message("  \"%s\": error \"%s\" lacks \"%s\"\n", in, err, needle);
	assert_non_null(strstr(err, needle));
}

/* ---- plain references ---- */

static void test_no_variables(void **state)
{
	(void)state;
	expect("", "");
	expect("plain text", "plain text");
	assert_int_equal(n_missing(), 0);
}

static void test_dollar_name(void **state)
{
	(void)state;
	expect("$SET", "value");
	expect("pre-$SET-post", "pre-value-post");
	expect("$SET$SET", "valuevalue");
	/* the name runs as far as name characters go */
	expect("$SET_x", "");
	assert_int_equal(n_missing(), 1);
	assert_string_equal(missing[0], "SET_x");
	expect("$SET.x", "value.x");
	expect("$EMPTY", "");
	assert_int_equal(n_missing(), 0);
}

static void test_braced_name(void **state)
{
	(void)state;
	expect("${SET}", "value");
	expect("a${SET}b", "avalueb");
	expect("${SET}_x", "value_x");
	expect("${EMPTY}", "");
	assert_int_equal(n_missing(), 0);
}

/* ---- defaults ---- */

static void test_colon_dash_default(void **state)
{
	(void)state;
	expect("${UNSET:-def}", "def");
	assert_int_equal(n_missing(), 0);
	expect("${EMPTY:-def}", "def");
	expect("${SET:-def}", "value");
	expect("${UNSET:-}", "");
	expect("${UNSET:-a b:c}", "a b:c");
	assert_int_equal(n_missing(), 0);
}

static void test_dash_default(void **state)
{
	(void)state;
	expect("${UNSET-def}", "def");
	assert_int_equal(n_missing(), 0);
	/* set but empty keeps the empty value */
	expect("${EMPTY-def}", "");
	expect("${SET-def}", "value");
}

/* ---- required ---- */

static void test_colon_question_required(void **state)
{
	(void)state;
	expect_err("${UNSET:?please set UNSET}", "required variable UNSET is missing a value");
	assert_non_null(strstr(err, "please set UNSET"));
	expect_err("${EMPTY:?must not be empty}", "required variable EMPTY");
	assert_non_null(strstr(err, "must not be empty"));
	expect("${SET:?msg}", "value");
	/* no message */
	expect_err("${UNSET:?}", "required variable UNSET is missing a value");
}

static void test_question_required(void **state)
{
	(void)state;
	expect_err("${UNSET?gone}", "required variable UNSET is missing a value: gone");
	/* set but empty satisfies "?" */
	expect("${EMPTY?gone}", "");
	expect("${SET?gone}", "value");
}

/* ---- alternatives ---- */

static void test_colon_plus_alternative(void **state)
{
	(void)state;
	expect("${SET:+alt}", "alt");
	expect("${EMPTY:+alt}", "");
	expect("${UNSET:+alt}", "");
	assert_int_equal(n_missing(), 0);
}

static void test_plus_alternative(void **state)
{
	(void)state;
	expect("${SET+alt}", "alt");
	expect("${EMPTY+alt}", "alt");
	expect("${UNSET+alt}", "");
	assert_int_equal(n_missing(), 0);
}

/* ---- escapes and nesting ---- */

static void test_double_dollar(void **state)
{
	(void)state;
	expect("$$", "$");
	expect("$$SET", "$SET");
	expect("$${SET}", "${SET}");
	expect("cost: $$5", "cost: $5");
	expect("$$$SET", "$value");
	assert_int_equal(n_missing(), 0);
}

static void test_nested_default(void **state)
{
	(void)state;
	expect("${UNSET:-${SET}}", "value");
	expect("${UNSET:-${B}}", "bee");
	expect("${UNSET:-${ALSO_UNSET:-deep}}", "deep");
	expect("${UNSET:-x${SET}y}", "xvaluey");
	expect("${UNSET:-$SET}", "value");
	expect("${SET:+[${B}]}", "[bee]");
	/* the default of an unset variable that is itself unset */
	expect("${UNSET:-${ALSO_UNSET}}", "");
	assert_int_equal(n_missing(), 1);
	assert_string_equal(missing[0], "ALSO_UNSET");
	/* a brace after the reference is text */
	expect("${UNSET:-a}}", "a}");
	/* "$${" in a default is a literal, not a nested reference */
	expect("${UNSET:-$${X}}", "${X}");
}

/* ---- missing variables ---- */

static void test_missing_collected_and_deduplicated(void **state)
{
	(void)state;
	expect("$A1 ${B1} $A1 ${A1} ${C1:-x} ${D1-} $B1", "    x  ");
	assert_int_equal(n_missing(), 2);
	assert_string_equal(missing[0], "A1");
	assert_string_equal(missing[1], "B1");
	assert_null(missing[2]);
}

static void test_missing_appends_to_caller_list(void **state)
{
	int rc;

	(void)state;
	/* the caller can gather the names of several values in one list */
	reset();
	rc = interp_expand("$M1", &env, &out, &err, &missing);
	assert_int_equal(rc, 0);
	free(out);
	out = NULL;
	rc = interp_expand("$M2 $M1", &env, &out, &err, &missing);
	assert_int_equal(rc, 0);
	assert_int_equal(n_missing(), 2);
	assert_string_equal(missing[0], "M1");
	assert_string_equal(missing[1], "M2");
}

/* ---- precedence ---- */

static void test_process_env_wins_over_dotenv(void **state)
{
	(void)state;
	expect("$BOTH", "from-process");
	expect("${BOTH:-x}", "from-process");
	expect("$FILEONLY", "from-dotenv");
	expect("${FILEEMPTY-x}", "");
	expect("${FILEEMPTY:-x}", "x");
	assert_int_equal(n_missing(), 0);
	assert_string_equal(interp_lookup(&env, "BOTH", 4), "from-process");
	assert_string_equal(interp_lookup(&env, "FILEONLY", 8), "from-dotenv");
	/* the length bounds the name: "SETX" looked up as "SET" */
	assert_string_equal(interp_lookup(&env, "SETX", 3), "value");
	assert_null(interp_lookup(&env, "SE", 2));
	assert_null(interp_lookup(&env, "UNSET", 5));
}

static void test_no_environment_at_all(void **state)
{
	const struct interp_env none = { 0 };
	int rc;

	(void)state;
	reset();
	rc = interp_expand("${X:-d}$Y", &none, &out, &err, &missing);
	assert_int_equal(rc, 0);
	assert_string_equal(out, "d");
	assert_int_equal(n_missing(), 1);
	assert_string_equal(missing[0], "Y");
}

/* ---- syntax errors ---- */

static void test_invalid_syntax(void **state)
{
	(void)state;
	expect_err("$ ", "\"$\" must be followed");
	expect_err("a $", "\"$\" must be followed");
	expect_err("$1", "\"$\" must be followed");
	expect_err("${", "expected a variable name");
	expect_err("${1}", "expected a variable name");
	expect_err("${}", "expected a variable name");
	expect_err("${ SET}", "expected a variable name");
	expect_err("${UNSET:-${SET}", "missing \"}\"");
	expect_err("${SET:-x", "missing \"}\"");
	expect_err("${SET:x}", "unexpected character");
	expect_err("${SET x}", "unexpected character");
	expect_err("${SET:}", "unexpected character");
	/* an error inside a default that is used */
	expect_err("${UNSET:-${1}}", "expected a variable name");
}

static void test_invalid_unterminated_name(void **state)
{
	(void)state;
	/* nothing follows the name: the brace is missing, no character is unexpected */
	expect_err("${SET", "missing \"}\"");
	expect_err("x${A_B", "missing \"}\"");
}

static char *repeat(const char *head, int n, const char *mid, const char *tail)
{
	size_t hl = strlen(head), ml = strlen(mid), tl = strlen(tail);
	char *s = malloc(hl * (size_t)n + ml + tl * (size_t)n + 1), *p = s;

	assert_non_null(s);
	for (int i = 0; i < n; i++, p += hl)
		memcpy(p, head, hl);
	memcpy(p, mid, ml);
	p += ml;
	for (int i = 0; i < n; i++, p += tl)
		memcpy(p, tail, tl);
	*p = '\0';
	return s;
}

static void test_deep_nesting_is_bounded(void **state)
{
	char *in;
	int rc;

	(void)state;
	/* a few levels are fine */
	in = repeat("${UNSET:-", 8, "x", "}");
	expect(in, "x");
	free(in);

	/* 100 levels of defaults that are all used: refused, not a crash */
	in = repeat("${UNSET:-", 100, "x", "}");
	reset();
	rc = interp_expand(in, &env, &out, &err, &missing);
	free(in);
	assert_int_equal(rc, -EINVAL);
	assert_null(out);
	assert_non_null(err);
	assert_non_null(strstr(err, "nested too deeply"));

	/* 100 levels never closed */
	in = repeat("${UNSET:-", 100, "x", "");
	expect_err(in, "missing \"}\"");
	free(in);

	/* very deep, but the outer variable is set so no default is expanded */
	in = repeat("${SET:-", 100000, "x", "}");
	expect(in, "value");
	free(in);

	/* very deep alternative on unset variables: nothing to expand either */
	in = repeat("${UNSET:+", 100000, "x", "}");
	expect(in, "");
	free(in);
}

/* ---- .env files ---- */

static char **kv;

static int teardown_kv(void **state)
{
	(void)state;
	for (char **p = kv; p && *p; p++)
		free(*p);
	free(kv);
	kv = NULL;
	return 0;
}

static size_t kv_len(void)
{
	size_t n = 0;

	while (kv && kv[n])
		n++;
	return n;
}

static void parse(const char *text, int want_bad)
{
	int bad = -1;

	teardown_kv(NULL);
	kv = dotenv_parse(text, &bad);
	assert_non_null(kv);
	assert_int_equal(bad, want_bad);
}

static void test_dotenv_basic(void **state)
{
	(void)state;
	parse("# a comment\n"
	      "\n"
	      "FOO=bar\n"
	      "   # an indented comment\n"
	      "export EXPORTED=yes\n"
	      "  INDENTED=1\n"
	      "EMPTY=\n"
	      "SPACED = around  \n"
	      "URL=http://x/?a=b&c=d\n"
	      "LAST=no-newline",
	      0);
	assert_int_equal(kv_len(), 7);
	assert_string_equal(kv[0], "FOO=bar");
	assert_string_equal(kv[1], "EXPORTED=yes");
	assert_string_equal(kv[2], "INDENTED=1");
	assert_string_equal(kv[3], "EMPTY=");
	assert_string_equal(kv[4], "SPACED=around");
	assert_string_equal(kv[5], "URL=http://x/?a=b&c=d");
	assert_string_equal(kv[6], "LAST=no-newline");
}

static void test_dotenv_quotes(void **state)
{
	(void)state;
	parse("SQ='literal \\n $X # not a comment'\n"
	      "DQ=\"tab\\there \\\"q\\\" back\\\\slash\\nnl\"\n"
	      "DQHASH=\"a # b\" # trailing comment\n"
	      "SQEMPTY=''\n"
	      "SPACEQ= 'lead'\n",
	      0);
	assert_int_equal(kv_len(), 5);
	assert_string_equal(kv[0], "SQ=literal \\n $X # not a comment");
	assert_string_equal(kv[1], "DQ=tab\there \"q\" back\\slash\nnl");
	assert_string_equal(kv[2], "DQHASH=a # b");
	assert_string_equal(kv[3], "SQEMPTY=");
	assert_string_equal(kv[4], "SPACEQ=lead");
}

static void test_dotenv_inline_comment(void **state)
{
	(void)state;
	parse("A=value # comment\n"
	      "B=value\t# tab comment\n"
	      "C=no#comment\n"
	      "D=#start\n",
	      0);
	assert_int_equal(kv_len(), 4);
	assert_string_equal(kv[0], "A=value");
	assert_string_equal(kv[1], "B=value");
	assert_string_equal(kv[2], "C=no#comment");
	assert_string_equal(kv[3], "D=#start");
}

static void test_dotenv_crlf(void **state)
{
	(void)state;
	parse("A=1\r\nB=two words\r\n", 0);
	assert_int_equal(kv_len(), 2);
	assert_string_equal(kv[0], "A=1");
	assert_string_equal(kv[1], "B=two words");
}

static void test_dotenv_bad_line(void **state)
{
	(void)state;
	/* the first bad line is reported, the good ones are kept */
	parse("A=1\n"
	      "this is not an assignment\n"
	      "B=2\n"
	      "9LIVES=x\n"
	      "C=3\n",
	      2);
	assert_int_equal(kv_len(), 3);
	assert_string_equal(kv[0], "A=1");
	assert_string_equal(kv[1], "B=2");
	assert_string_equal(kv[2], "C=3");

	parse("\n\nNOEQUALS\n", 3);
	assert_int_equal(kv_len(), 0);
	parse("=value\n", 1);
	assert_int_equal(kv_len(), 0);
}

static void test_dotenv_empty(void **state)
{
	(void)state;
	parse("", 0);
	assert_int_equal(kv_len(), 0);
	parse(NULL, 0);
	assert_int_equal(kv_len(), 0);
	parse("\n\n# only comments\n", 0);
	assert_int_equal(kv_len(), 0);
}

static void test_dotenv_feeds_interpolation(void **state)
{
	struct interp_env e = { .env = proc_env };
	int rc;

	(void)state;
	parse("BOTH=ignored\nTAG=1.2\n", 0);
	e.dotenv = kv;
	reset();
	rc = interp_expand("img:$TAG $BOTH", &e, &out, &err, &missing);
	assert_int_equal(rc, 0);
	assert_string_equal(out, "img:1.2 from-process");
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_teardown(test_no_variables, teardown),
		cmocka_unit_test_teardown(test_dollar_name, teardown),
		cmocka_unit_test_teardown(test_braced_name, teardown),
		cmocka_unit_test_teardown(test_colon_dash_default, teardown),
		cmocka_unit_test_teardown(test_dash_default, teardown),
		cmocka_unit_test_teardown(test_colon_question_required, teardown),
		cmocka_unit_test_teardown(test_question_required, teardown),
		cmocka_unit_test_teardown(test_colon_plus_alternative, teardown),
		cmocka_unit_test_teardown(test_plus_alternative, teardown),
		cmocka_unit_test_teardown(test_double_dollar, teardown),
		cmocka_unit_test_teardown(test_nested_default, teardown),
		cmocka_unit_test_teardown(test_missing_collected_and_deduplicated, teardown),
		cmocka_unit_test_teardown(test_missing_appends_to_caller_list, teardown),
		cmocka_unit_test_teardown(test_process_env_wins_over_dotenv, teardown),
		cmocka_unit_test_teardown(test_no_environment_at_all, teardown),
		cmocka_unit_test_teardown(test_invalid_syntax, teardown),
		cmocka_unit_test_teardown(test_invalid_unterminated_name, teardown),
		cmocka_unit_test_teardown(test_deep_nesting_is_bounded, teardown),
		cmocka_unit_test_teardown(test_dotenv_basic, teardown_kv),
		cmocka_unit_test_teardown(test_dotenv_quotes, teardown_kv),
		cmocka_unit_test_teardown(test_dotenv_inline_comment, teardown_kv),
		cmocka_unit_test_teardown(test_dotenv_crlf, teardown_kv),
		cmocka_unit_test_teardown(test_dotenv_bad_line, teardown_kv),
		cmocka_unit_test_teardown(test_dotenv_empty, teardown_kv),
		cmocka_unit_test_teardown(test_dotenv_feeds_interpolation, teardown_kv),
	};
	int rc = cmocka_run_group_tests(tests, NULL, NULL);

	teardown(NULL);
	teardown_kv(NULL);
	return rc;
}
