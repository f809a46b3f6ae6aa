//! A small HTTP/1.1 server's protocol part: telling a whole request head
//! from a partial or malformed one, and writing a response head.
//!
//! Only `GET` (and `HEAD`) are served; each connection carries one request
//! and is closed after the answer (`Connection: close`).

use core::fmt::{self, Write};

/// What the bytes received so far on a connection are.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Parsed<'a> {
    /// The head has not ended yet (no blank line).
    Incomplete,
    /// A whole request head.
    Request {
        /// The method, e.g. `GET`.
        method: &'a str,
        /// The request target, e.g. `/`.
        path: &'a str,
    },
    /// Not an HTTP/1.x request.
    Bad,
}

/// Parses the request head at the start of `buf`.
pub fn parse(buf: &[u8]) -> Parsed<'_> {
    let Some(end) = buf.windows(4).position(|w| w == b"\r\n\r\n") else {
        return Parsed::Incomplete;
    };
    let Ok(head) = core::str::from_utf8(&buf[..end]) else {
        return Parsed::Bad;
    };
    let line = head.split("\r\n").next().unwrap_or("");
    let mut parts = line.split(' ');
    let (Some(method), Some(path), Some(version), None) =
        (parts.next(), parts.next(), parts.next(), parts.next())
    else {
        return Parsed::Bad;
    };
    let token = |s: &str| !s.is_empty() && s.bytes().all(|b| b.is_ascii_uppercase());
    if !token(method) || !path.starts_with('/') || !matches!(version, "HTTP/1.0" | "HTTP/1.1") {
        return Parsed::Bad;
    }
    Parsed::Request { method, path }
}

/// A response status.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Status {
    /// 200 OK.
    Ok,
    /// 400 Bad Request.
    BadRequest,
    /// 404 Not Found.
    NotFound,
    /// 405 Method Not Allowed.
    MethodNotAllowed,
    /// 431 Request Header Fields Too Large.
    TooLarge,
}

impl Status {
    /// The code and reason phrase.
    pub fn line(self) -> (u16, &'static str) {
        match self {
            Status::Ok => (200, "OK"),
            Status::BadRequest => (400, "Bad Request"),
            Status::NotFound => (404, "Not Found"),
            Status::MethodNotAllowed => (405, "Method Not Allowed"),
            Status::TooLarge => (431, "Request Header Fields Too Large"),
        }
    }
}

/// Which answer a request gets: the status page for `GET /` (or
/// `HEAD /`), 404 for other paths, 405 for other methods.
pub fn route(method: &str, path: &str) -> Status {
    if !matches!(method, "GET" | "HEAD") {
        return Status::MethodNotAllowed;
    }
    // The query string does not select another page.
    match path.split('?').next() {
        Some("/") => Status::Ok,
        _ => Status::NotFound,
    }
}

/// Writes a response head for a `text/plain` body of `body_len` bytes.
pub fn write_head(out: &mut impl Write, status: Status, body_len: usize) -> fmt::Result {
    let (code, reason) = status.line();
    write!(
        out,
        "HTTP/1.1 {code} {reason}\r\n\
         Content-Type: text/plain; charset=utf-8\r\n\
         Content-Length: {body_len}\r\n\
         Connection: close\r\n"
    )?;
    if status == Status::MethodNotAllowed {
        out.write_str("Allow: GET, HEAD\r\n")?;
    }
    out.write_str("\r\n")
}

#[cfg(test)]
mod tests {
    use super::*;
    use nexus_abi::text::Text;

    #[test]
    fn tells_whole_heads_from_partial_and_bad_ones() {
        assert_eq!(parse(b""), Parsed::Incomplete);
        assert_eq!(parse(b"GET / HTTP/1.1\r\nHost: x\r\n"), Parsed::Incomplete);
        assert_eq!(
            parse(b"GET /a?b HTTP/1.1\r\nHost: x\r\n\r\n"),
            Parsed::Request {
                method: "GET",
                path: "/a?b"
            }
        );
        assert_eq!(
            parse(b"HEAD / HTTP/1.0\r\n\r\nbody"),
            Parsed::Request {
                method: "HEAD",
                path: "/"
            }
        );
        for bad in [
            &b"GET / HTTP/2\r\n\r\n"[..],
            b"GET /  HTTP/1.1\r\n\r\n",
            b"get / HTTP/1.1\r\n\r\n",
            b"GET x HTTP/1.1\r\n\r\n",
            b"GET /\r\n\r\n",
            b"\r\n\r\n",
            b"GET /\xff HTTP/1.1\r\n\r\n",
        ] {
            assert_eq!(parse(bad), Parsed::Bad, "{bad:?}");
        }
    }

    #[test]
    fn routes_the_root_and_nothing_else() {
        assert_eq!(route("GET", "/"), Status::Ok);
        assert_eq!(route("HEAD", "/?x=1"), Status::Ok);
        assert_eq!(route("GET", "/index.html"), Status::NotFound);
        assert_eq!(route("GET", "//"), Status::NotFound);
        assert_eq!(route("POST", "/"), Status::MethodNotAllowed);
    }

    #[test]
    fn writes_a_head_with_the_body_length() {
        let mut t = Text::<256>::new();
        write_head(&mut t, Status::NotFound, 10).unwrap();
        let head = core::str::from_utf8(t.as_bytes()).unwrap();
        assert!(head.starts_with("HTTP/1.1 404 Not Found\r\n"), "{head}");
        assert!(head.contains("\r\nContent-Length: 10\r\n"));
        assert!(head.ends_with("Connection: close\r\n\r\n"));
        let mut t = Text::<256>::new();
        write_head(&mut t, Status::MethodNotAllowed, 0).unwrap();
        assert!(t.as_bytes().windows(6).any(|w| w == b"Allow:"));
    }
}
