"""Reading untrusted e-mail for routing (bpa/triggers/_mail.py): identities, machines'
mail, invoice attachments, hostile names and shapes. No server needed."""

from __future__ import annotations

from email.message import EmailMessage

import pytest

from bpa.triggers._mail import MAX_PARTS, MailError, read_mail

PDF = b"%PDF-1.4\n1 0 obj\n<<>>\nendobj\ntrailer\n<<>>\n%%EOF\n"


def message(**headers: str) -> EmailMessage:
    mail = EmailMessage()
    mail["From"] = headers.pop("From", "Ann <ann@example.com>")
    mail["Subject"] = "Invoice"
    for name, value in headers.items():
        mail[name.replace("_", "-")] = value
    mail.set_content("See attached.\n")
    return mail


def test_a_message_id_is_the_identity_and_a_digest_stands_in_without_one() -> None:
    read = read_mail(message(Message_ID="<a1@example.com>").as_bytes())
    assert read.message_id == read.identity == "<a1@example.com>"
    assert read.sender == "ann@example.com"
    bare = read_mail(message().as_bytes())
    assert bare.message_id is None and bare.identity.startswith("sha256:")
    assert read_mail(message().as_bytes()).identity == bare.identity  # stable per message
    spaced = read_mail(message(Message_ID="<" + "x" * 400 + "@example.com>").as_bytes())
    assert spaced.message_id is None  # too long to trust as a key


@pytest.mark.parametrize(
    ("headers", "reason"),
    [
        ({"Auto_Submitted": "auto-replied"}, "Auto-Submitted"),
        ({"X_Autoreply": "yes"}, "X-Autoreply"),
        ({"Return_Path": "<>"}, "bounce"),
        ({"X_BPA_Outbox_Id": "MSG-1"}, "own outbox"),
    ],
)
def test_mail_a_machine_sent_is_recognised(headers: dict[str, str], reason: str) -> None:
    automatic = read_mail(message(**headers).as_bytes()).automatic
    assert automatic and reason in automatic
    assert read_mail(message(Auto_Submitted="no").as_bytes()).automatic is None


def test_invoice_attachments_by_content_or_name_never_a_path() -> None:
    mail = message()
    mail.add_attachment(PDF, maintype="application", subtype="octet-stream", filename="scan")
    mail.add_attachment(
        PDF, maintype="application", subtype="pdf", filename="..\\..\\windows\\\x1b[31mbill.pdf"
    )
    mail.add_attachment(b"<Invoice/>", maintype="text", subtype="xml", filename="einvoice.xml")
    mail.add_attachment("Invoice 7\nTotal 10.00", subtype="plain", filename="invoice.txt")
    mail.add_attachment("just a note", subtype="plain", filename="notes.md")
    read = read_mail(mail.as_bytes())
    assert [(a.kind, a.name, a.media_type) for a in read.invoices] == [
        ("pdf", "scan", "application/pdf"),
        ("pdf", "[31mbill.pdf", "application/pdf"),
        ("xml", "einvoice.xml", "application/xml"),
        ("txt", "invoice.txt", "text/plain"),
    ]
    assert all(a.data for a in read.invoices)


def test_a_body_is_not_an_invoice() -> None:
    assert read_mail(message().as_bytes()).invoices == []


def test_a_message_built_to_exhaust_the_reader_is_refused() -> None:
    mail = message()
    for n in range(MAX_PARTS + 5):
        mail.add_attachment("x", subtype="plain", filename=f"n{n}.bin")
    with pytest.raises(MailError, match="MIME parts"):
        read_mail(mail.as_bytes())
    nested = b"Content-Type: multipart/mixed; boundary=a\r\n\r\n" + b"--a\r\n" * 5000
    read_mail(nested)  # odd but harmless: no crash, no invoice
