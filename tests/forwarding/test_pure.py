"""Table tests and properties for the pure modules: reply parsing, templates, loop rules,
signatures and reply tokens."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest
from hypothesis import given
from hypothesis import strategies as st

from smshub.forwarding import rules, signing
from smshub.mail import parse, render
from smshub.messaging import encoding

STRIP_CASES = [
    (
        "Gmail",
        "Sounds good!\n\nOn Mon, Jan 5, 2026 at 9:00 AM Bob <b@x.test> wrote:\n> hi",
        "Sounds good!",
    ),
    (
        "Gmail wrapped",
        "Yes\n\nOn Mon, Jan 5, 2026 at 9:00 AM SMS from +12025550123 <\n"
        "reply+abc@sms.test> wrote:\n\n> hi",
        "Yes",
    ),
    (
        "Apple Mail",
        "Fine.\n\nSent from my iPhone\n\n> On 5 Jan 2026, at 09:00, x wrote:\n> hi",
        "Fine.",
    ),
    (
        "Outlook",
        "Agreed\r\n\r\n-----Original Message-----\r\nFrom: SMS\r\nSent: Monday\r\n\r\nhi",
        "Agreed",
    ),
    (
        "Outlook header block",
        "Agreed\n\n________________________________\nFrom: SMS <s@x.test>\nSent: Monday\nTo: me",
        "Agreed",
    ),
    (
        "Outlook no rule",
        "Ok then\n\nFrom: SMS <s@x.test>\nSent: Monday\nSubject: x\n\nhi",
        "Ok then",
    ),
    ("quoted lines", "> old\n> older\nnew text\n>> oldest", "new text"),
    ("signature", "Thanks\n-- \nJane Doe\nACME", "Thanks"),
    ("French", "Oui\n\nLe lun. 5 janv. 2026 à 09:00, Bob <b@x.test> a écrit :\n> hi", "Oui"),
    ("multi-paragraph", "Line one\n\n\n\nLine two\n", "Line one\n\nLine two"),
    ("From: in text", "From: the desk of Jane, hello", "From: the desk of Jane, hello"),
]


@pytest.mark.parametrize(
    ("client", "text", "expected"), STRIP_CASES, ids=[c[0] for c in STRIP_CASES]
)
def test_strip_reply(client: str, text: str, expected: str) -> None:
    assert parse.strip_reply(text) == expected


HTML_CASES = [
    (
        "gmail",
        '<div dir="ltr">New <b>text</b></div><br><div class="gmail_quote">'
        "<div>On Mon wrote:</div><blockquote>old</blockquote></div>",
        "New text",
    ),
    ("apple", '<div>Yes<br>please</div><blockquote type="cite">old</blockquote>', "Yes\nplease"),
    (
        "outlook",
        '<p>Reply &amp; more</p><div id="appendonsend"></div><hr><p>From: SMS</p><p>old</p>',
        "Reply & more",
    ),
    ("script", "<style>p{}</style><script>alert(1)</script><p>Safe</p>", "Safe"),
]


@pytest.mark.parametrize(("client", "html", "expected"), HTML_CASES, ids=[c[0] for c in HTML_CASES])
def test_html_replies(client: str, html: str, expected: str) -> None:
    assert parse.strip_reply(parse.html_to_text(html)) == expected


def test_parse_mail_prefers_plain_text_and_reads_headers() -> None:
    raw = (
        b"From: Ops <OPS@Example.com>\r\nTo: a@x.test, b@x.test\r\nSubject: Re: SMS [#tok]\r\n"
        b"MIME-Version: 1.0\r\nContent-Type: multipart/alternative; boundary=b\r\n\r\n"
        b"--b\r\nContent-Type: text/plain\r\n\r\nplain\r\n"
        b"--b\r\nContent-Type: text/html\r\n\r\n<p>html</p>\r\n--b--\r\n"
    )
    mail = parse.parse_mail(raw)
    assert (mail.from_addr, mail.to_addrs, mail.text) == (
        "ops@example.com",
        ("a@x.test", "b@x.test"),
        "plain",
    )
    assert parse.token_in_subject("Re: SMS from x [#01abcdefghij0123456789ab]") == (
        "01abcdefghij0123456789ab"
    )
    assert parse.parse_mail(b"garbage without headers").text == "garbage without headers"
    assert parse.parse_mail(b"Content-Type: text/plain; charset=x-nope\r\n\r\nhi").text == "hi"


def _fits(max_segments: int) -> object:
    def fits(text: str) -> bool:
        info = encoding.analyze(text)
        return encoding.check_limits(info, max_segments=max_segments) is None

    return fits


@given(st.text(alphabet=st.sampled_from("ab €😀 x\n"), max_size=800), st.integers(1, 4))
def test_split_pieces_fit_and_keep_the_text(text: str, max_segments: int) -> None:
    fits = _fits(max_segments)
    pieces = parse.split_text(text, fits)  # type: ignore[arg-type]
    assert all(fits(p) for p in pieces)  # type: ignore[operator]
    assert "".join("".join(pieces).split()) == "".join(text.split())


def test_template_expansion_encodes_every_value() -> None:
    values = rules.CallbackValues(
        "01J0", datetime(2026, 1, 1, tzinfo=UTC), "+12025550123", "+14155550100", "a&b=c d/é"
    )
    url = rules.expand_template("https://x.test/cb?m={MESSAGE}&f={FROM}&t={TIMESTAMP}", values)
    assert url == "https://x.test/cb?m=a%26b%3Dc%20d%2F%C3%A9&f=%2B12025550123&t=1767225600"
    assert rules.template_problem("https://x.test/{ID}/{TO}") is None
    assert "unknown placeholder {BODY}" in str(rules.template_problem("https://x.test/{BODY}"))
    assert rules.template_problem("javascript:alert(1)") is not None
    assert rules.template_problem("https://x.test/a b") is not None


@pytest.mark.parametrize(
    ("status", "body", "retry", "done"),
    [
        (200, "ok", True, True),
        (200, "ok\n", True, True),
        (200, "OK", True, False),
        (200, "okay", True, False),
        (500, "ok", True, False),
        (200, "error", True, False),
        (500, "error", False, True),
    ],
)
def test_callback_done(status: int, body: str, retry: bool, done: bool) -> None:
    assert rules.callback_done(status, body, retry) is done


def test_loop_rules() -> None:
    def check(**kw: object) -> str | None:
        base: dict[str, object] = {
            "sender": "+12025550123",
            "target": "+14155550177",
            "number": "+14155550100",
            "sender_is_our_number": False,
            "text": "hi",
        }
        return rules.should_forward_to_mobile(**{**base, **kw})  # type: ignore[arg-type]

    assert check() is None
    assert check(sender_is_our_number=True) is not None
    assert check(text=rules.forward_text("+1", "x")) is not None
    assert check(sender="+14155550177") is not None
    assert check(target="+14155550100") is not None
    assert len(rules.forward_text("+1", "x" * 2000)) == rules.MAX_FORWARD_CHARS


def test_signatures() -> None:
    body = b'{"id":"1"}'
    header = signing.signature_header("sec", 1_700_000_000, body)
    assert signing.verify("sec", header, body, now=1_700_000_100)
    assert not signing.verify("sec", header, body + b" ", now=1_700_000_100)
    assert not signing.verify("other", header, body, now=1_700_000_100)
    assert not signing.verify("sec", header, body, now=1_700_001_000)  # too old
    assert not signing.verify("sec", "t=1,v1=zz", body, now=1)


def test_reply_tokens() -> None:
    conversation = "01JABCDEFGHJKMNPQRSTVWXYZ0"
    token = signing.reply_token("k", conversation)
    assert token == token.lower() and len(token) == 26 + signing.TOKEN_MAC_CHARS
    assert signing.conversation_of_token("k", token) == conversation
    assert signing.conversation_of_token("k", token.upper()) == conversation
    assert signing.conversation_of_token("other-key", token) is None
    other = "01JABCDEFGHJKMNPQRSTVWXYZ1".lower() + token[26:]
    assert signing.conversation_of_token("k", other) is None
    assert signing.conversation_of_token("k", "short") is None
    address = render.reply_address(token, "sms.test")
    assert render.token_of_address(address.upper(), "sms.test") == token
    assert render.token_of_address(address, "other.test") is None


def test_forward_email_headers_are_single_lines() -> None:
    mail = render.forward_email(
        sender="+12025550123\r\nBcc: x@evil.test",
        number="+14155550100",
        text="hi\r\nBcc: y@evil.test",
        at=datetime(2026, 1, 1, tzinfo=UTC),
        token="t" * 50,
        mail_from="smshub@sms.test",
        to=["ops@example.com"],
        domain="sms.test",
    )
    assert mail["Bcc"] is None and "\n" not in str(mail["Subject"])
    assert "Bcc: y@evil.test" in mail.get_content()
