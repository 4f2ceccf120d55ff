/* test_charset.c - encoding labels, declarations, detection, conversion. */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <cmocka.h>

#include <iconv.h>
#include <string.h>

#include "buf.h"
#include "charset.h"

static void test_labels(void **state)
{
	(void)state;
	assert_string_equal(charset_from_label("utf-8", 5), "UTF-8");
	assert_string_equal(charset_from_label(" UTF8 ", 6), "UTF-8");
	/* WHATWG: Latin-1 and ASCII labels mean windows-1252. */
	assert_string_equal(charset_from_label("ISO-8859-1", 10), "WINDOWS-1252");
	assert_string_equal(charset_from_label("us-ascii", 8), "WINDOWS-1252");
	assert_string_equal(charset_from_label("Shift_JIS", 9), "CP932");
	assert_string_equal(charset_from_label("\"euc-kr\"", 8), "CP949");
	assert_string_equal(charset_from_label("gb2312", 6), "GB18030");
	assert_null(charset_from_label("x-no-such", 9));
	assert_null(charset_from_label("", 0));
	assert_string_equal(charset_label("CP932"), "shift_jis");
	assert_string_equal(charset_label("WINDOWS-1251"), "windows-1251");
	assert_string_equal(charset_label("EUC-JP"), "euc-jp");
}

static void test_content_type(void **state)
{
	(void)state;
	assert_string_equal(charset_from_content_type("text/html; charset=ISO-8859-2"), "ISO-8859-2");
	assert_string_equal(charset_from_content_type("text/html;CHARSET=\"euc-jp\""), "EUC-JP");
	assert_string_equal(charset_from_content_type("text/plain; format=flowed; charset='koi8-r'"), "KOI8-R");
	assert_null(charset_from_content_type("text/html"));
	assert_null(charset_from_content_type(NULL));
	assert_null(charset_from_content_type("text/html; charset=bogus"));
}

static const char *meta(const char *html)
{
	return charset_from_meta(html, strlen(html));
}

static void test_meta_prescan(void **state)
{
	(void)state;
	assert_string_equal(meta("<html><head><meta charset=\"shift_jis\">"), "CP932");
	assert_string_equal(meta("<META CHARSET=windows-1251>"), "WINDOWS-1251");
	assert_string_equal(meta("<meta http-equiv=\"Content-Type\" content=\"text/html; charset=gbk\">"),
			    "GB18030");
	assert_string_equal(meta("<meta content='text/html; charset=euc-kr' http-equiv=content-type>"),
			    "CP949");
	/* Without http-equiv, content= says nothing. */
	assert_null(meta("<meta name=x content=\"charset=koi8-r\">"));
	/* Not fooled by comments or by attribute values. */
	assert_string_equal(meta("<!-- <meta charset=koi8-r> --><meta charset=utf-8>"), "UTF-8");
	assert_string_equal(meta("<a title='<meta charset=koi8-r>'></a><meta charset=iso-8859-2>"),
			    "ISO-8859-2");
	/* A page cannot be UTF-16 and say so in ASCII. */
	assert_string_equal(meta("<meta charset=utf-16le>"), "UTF-8");
	assert_null(meta("<p>no declaration</p>"));
}

static void test_bom(void **state)
{
	(void)state;
	size_t n;
	assert_string_equal(charset_bom("\xEF\xBB\xBFx", 4, &n), "UTF-8");
	assert_int_equal(n, 3);
	assert_string_equal(charset_bom("\xFF\xFEx\0", 4, &n), "UTF-16LE");
	assert_string_equal(charset_bom("\xFE\xFF\0x", 4, &n), "UTF-16BE");
	assert_null(charset_bom("abc", 3, &n));
	assert_int_equal(n, 0);
}

/* text (UTF-8) encoded as enc, by glibc's iconv. */
static void encode(const char *enc, const char *text, struct buf *out)
{
	iconv_t cd = iconv_open(enc, "UTF-8");
	assert_true(cd != (iconv_t)-1);
	buf_clear(out);
	buf_reserve(out, strlen(text) * 4 + 16);
	char *in = (char *)text, *o = out->p;
	size_t left = strlen(text), room = out->cap - 1;
	assert_int_not_equal(iconv(cd, &in, &left, &o, &room), (size_t)-1);
	out->len = (size_t)(o - out->p);
	iconv_close(cd);
}

static void test_detect(void **state)
{
	(void)state;
	static const struct {
		const char *enc, *want, *text;
	} cases[] = {
		{"ISO-8859-1", "WINDOWS-1252", "Le garçon était très fâché contre sa soeur qui avait mangé le gâteau. "
					      "Über die Brücke gehen wir müde nach Hause."},
		{"SHIFT_JIS", "CP932", "日本語のテキストです。これはテストのための文章で、ひらがなとカタカナと漢字が含まれています。"},
		{"EUC-JP", "EUC-JP", "日本語のテキストです。これはテストのための文章で、ひらがなとカタカナと漢字が含まれています。"},
		{"GBK", "GB18030", "中文文本。这是一个用于测试的句子，包含简体中文字符。北京是中国的首都，人口众多，历史悠久。"},
		{"BIG5", "BIG5-HKSCS", "中文文本。這是一個用於測試的句子，包含繁體中文字符。台北是台灣的首都，人口眾多，歷史悠久。"},
		{"EUC-KR", "CP949", "한국어 텍스트입니다. 이것은 테스트를 위한 문장입니다. 서울은 대한민국의 수도이며 인구가 많습니다."},
		{"CP1251", "WINDOWS-1251", "Это русский текст для проверки определения кодировки. Москва является столицей России."},
		{"KOI8-R", "KOI8-R", "Это русский текст для проверки определения кодировки. Москва является столицей России."},
		{"CP1253", "WINDOWS-1253", "Αυτό είναι ένα ελληνικό κείμενο για τον έλεγχο της κωδικοποίησης."},
		{"CP1250", "WINDOWS-1250", "Zażółć gęślą jaźń. Łódź jest dużym miastem w Polsce, a Kraków był stolicą."},
		{"CP1255", "WINDOWS-1255", "זהו טקסט בעברית לבדיקת זיהוי הקידוד. ירושלים היא בירת ישראל."},
		{"CP1256", "WINDOWS-1256", "هذا نص باللغة العربية لاختبار اكتشاف الترميز. القاهرة هي عاصمة مصر."},
	};
	struct buf enc = {0}, back = {0};
	for (size_t i = 0; i < sizeof cases / sizeof *cases; i++) {
		encode(cases[i].enc, cases[i].text, &enc);
		const char *got = charset_detect(enc.p, enc.len);
		if (strcmp(got, cases[i].want) != 0)
			fail_msg("%s: detected %s, want %s", cases[i].enc, got, cases[i].want);
		buf_clear(&back);
		assert_int_equal(charset_to_utf8(got, enc.p, enc.len, &back), 0);
		assert_string_equal(back.p, cases[i].text);
	}
	/* Valid UTF-8 is UTF-8, ASCII too. */
	assert_string_equal(charset_detect("na\xC3\xAFve", 6), "UTF-8");
	assert_string_equal(charset_detect("plain", 5), "UTF-8");
	buf_free(&enc);
	buf_free(&back);
}

static void test_convert(void **state)
{
	(void)state;
	struct buf out = {0};
	/* windows-1252's own table, its holes as C1 controls. */
	assert_int_equal(charset_to_utf8("WINDOWS-1252", "\x80\x81\xE9\x9F", 4, &out), 0);
	assert_string_equal(out.p, "\xE2\x82\xAC\xC2\x81\xC3\xA9\xC5\xB8");
	/* Undecodable bytes become U+FFFD, one each, and conversion goes on. */
	buf_clear(&out);
	assert_int_equal(charset_to_utf8("EUC-JP", "a\xA4\xA2\xFF" "b", 5, &out), 1);
	assert_string_equal(out.p, "a\xE3\x81\x82\xEF\xBF\xBD" "b");
	buf_clear(&out);
	/* A sequence cut at the end. */
	assert_int_equal(charset_to_utf8("CP932", "x\x82", 2, &out), 1);
	assert_string_equal(out.p, "x\xEF\xBF\xBD");
	buf_clear(&out);
	/* Bad UTF-8 is repaired, a BOM dropped. */
	assert_int_equal(charset_to_utf8("UTF-8", "\xEF\xBB\xBFok\xC0", 6, &out), 1);
	assert_string_equal(out.p, "ok\xEF\xBF\xBD");
	buf_clear(&out);
	assert_int_equal(charset_to_utf8("UTF-16LE", "\xFF\xFEh\0i\0", 6, &out), 0);
	assert_string_equal(out.p, "hi");
	buf_free(&out);
}

static void test_choose(void **state)
{
	(void)state;
	enum charset_source src;
	const char *latin = "<meta charset=koi8-r><p>caf\xE9</p>";
	/* The header wins over the meta. */
	assert_string_equal(charset_choose("text/html; charset=iso-8859-1", latin, strlen(latin), 1, &src),
			    "WINDOWS-1252");
	assert_int_equal(src, CHARSET_HEADER);
	assert_string_equal(charset_choose("text/html", latin, strlen(latin), 1, &src), "KOI8-R");
	assert_int_equal(src, CHARSET_META);
	/* Plain text has no meta to read. */
	assert_string_equal(charset_choose(NULL, "caf\xE9 au lait", 12, 0, &src), "WINDOWS-1252");
	assert_int_equal(src, CHARSET_DETECTED);
	/* A BOM wins over everything. */
	assert_string_equal(charset_choose("text/html; charset=koi8-r", "\xEF\xBB\xBFx", 4, 1, &src), "UTF-8");
	assert_int_equal(src, CHARSET_BOM);
	/* Mislabelled UTF-8 is read as UTF-8. */
	const char *u = "<meta charset=iso-8859-1><p>caf\xC3\xA9 na\xC3\xAFve</p>";
	assert_string_equal(charset_choose(NULL, u, strlen(u), 1, &src), "UTF-8");
	assert_int_equal(src, CHARSET_DETECTED);
	/* Declared UTF-8 that is mostly invalid goes to detection. */
	const char *l = "<p>Gr\xFC\xDF" "e aus M\xFCnchen, sch\xF6n und gr\xFCn.</p>";
	assert_string_equal(charset_choose("text/html; charset=utf-8", l, strlen(l), 1, &src), "WINDOWS-1252");
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_labels),
		cmocka_unit_test(test_content_type),
		cmocka_unit_test(test_meta_prescan),
		cmocka_unit_test(test_bom),
		cmocka_unit_test(test_detect),
		cmocka_unit_test(test_convert),
		cmocka_unit_test(test_choose),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
