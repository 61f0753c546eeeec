package message

import (
	"errors"
	"testing"
)

func TestDecode(t *testing.T) {
	tests := []struct {
		in, enc, want string
	}{
		{"YmFy", "base64", "bar"},
		{"YmFy", " BASE64 ", "bar"},
		{"aGVs\r\nbG8g\r\nd29y bGQ=\r\n", "base64", "hello world"},
		{"aGVsbG8=\r\nIHdvcmxk", "base64", "hello world"},
		{"aGVsbG8", "base64", "hello"},
		{"aGVs*bG8", "base64", "hello"},
		{"", "base64", ""},
		{"caf=E9 =c3=a9 soft=\r\nbreak=  \r\nend", "quoted-printable", "caf\xe9 \xc3\xa9 softbreakend"},
		{"trailing   \r\nspace\t\nkept inner  x", "quoted-printable", "trailing\r\nspace\nkept inner  x"},
		{"bad =ZZ and = alone and =4", "quoted-printable", "bad =ZZ and = alone and =4"},
		{"ends with =", "quoted-printable", "ends with "},
		{"raw\r\nbytes\x00", "7bit", "raw\r\nbytes\x00"},
		{"x", "8BIT", "x"},
		{"x", "binary", "x"},
		{"x", "", "x"},
		{"YmFy", "base64 (with a comment)", "bar"},
	}
	for _, tt := range tests {
		got, err := Decode([]byte(tt.in), tt.enc)
		if err != nil || string(got) != tt.want {
			t.Errorf("Decode(%q, %q) = %q, %v; want %q", tt.in, tt.enc, got, err, tt.want)
		}
	}
	if _, err := Decode([]byte("x"), "x-uuencode"); !errors.Is(err, ErrUnknownEncoding) {
		t.Errorf("unknown encoding error %v", err)
	}
}
