package imapmsg

import "strings"

// crlf turns the LF line ends of a test message into CRLF.
func crlf(s string) string { return strings.ReplaceAll(s, "\n", "\r\n") }

// walkthroughMsg is the multipart message of the protocols walkthrough: a
// flowed text/plain body and a base64 foo.txt attachment holding "bar".
var walkthroughMsg = crlf(`Return-path: <from@example.org>
Message-ID: <47D3191C.7010301@mailserver_here>
Date: Sun, 09 Mar 2008 00:54:20 +0200
From: from_name_here <from@example.org>
User-Agent: Thunderbird (Windows/20080213)
MIME-Version: 1.0
To: to@example.com
Subject: test with attachment
Content-Type: multipart/mixed;
 boundary="------------030709070003020306050102"

This is a multi-part message in MIME format.
--------------030709070003020306050102
Content-Type: text/plain; charset=ISO-8859-1; format=flowed
Content-Transfer-Encoding: 7bit

this is the body of the message.

--------------030709070003020306050102
Content-Type: text/plain;
 name="foo.txt"
Content-Transfer-Encoding: base64
Content-Disposition: inline;
 filename="foo.txt"

YmFy
--------------030709070003020306050102--
`)

// nestedMsg has an embedded message/rfc822 with its own multipart body, a
// quoted-printable text part in ISO-8859-1 and an RFC 2047 subject.
var nestedMsg = crlf(`From: =?UTF-8?Q?J=C3=B6rg?= <joerg@example.org>
To: Team: ann@example.com, bo@example.com;
Cc: cc@example.com
Bcc: hidden@example.com
Subject: =?UTF-8?B?R3LDvMOfZQ==?= from the team
Date: Tue, 1 Feb 1994 23:59:00 -0800
X-Priority: 1
Content-Type: multipart/mixed; boundary=outer

--outer
Content-Type: text/plain; charset=iso-8859-1
Content-Transfer-Encoding: quoted-printable
Content-Language: de

Sch=F6ne Gr=FC=DFe aus K=F6ln
--outer
Content-Type: message/rfc822
Content-Description: forwarded

From: inner@example.net
Subject: inner subject
Content-Type: multipart/alternative; boundary=inner

--inner
Content-Type: text/plain

inner plain MARKER
--inner
Content-Type: text/html

<p>inner html</p>
--inner--
--outer--
`)
