//! A tiny HTTP/1.1 server on loopback for what ogforge fetches during the benchmark (the
//! browser routes' page, the data routes' JSON and images): a thread per connection,
//! keep-alive, GET only, every answer worked out by a handler. The thread lives until the
//! benchmark exits.

use std::{
    io::{self, BufRead, BufReader, Write},
    net::{SocketAddr, TcpListener, TcpStream},
    sync::Arc,
    thread,
    time::Duration,
};

use anyhow::Result;
use bytes::Bytes;

/// One answer: status line, content type, cache control and body.
#[derive(Debug, Clone)]
pub(crate) struct Answer {
    pub(crate) status: &'static str,
    pub(crate) content_type: &'static str,
    pub(crate) cache: &'static str,
    pub(crate) body: Bytes,
}

impl Answer {
    pub(crate) fn ok(content_type: &'static str, cache: &'static str, body: Bytes) -> Self {
        Self {
            status: "200 OK",
            content_type,
            cache,
            body,
        }
    }

    pub(crate) fn not_found() -> Self {
        Self {
            status: "404 Not Found",
            content_type: "text/plain",
            cache: "no-store",
            body: Bytes::from_static(b"not found\n"),
        }
    }
}

/// What answers a request target (path and query).
pub(crate) type Handler = Arc<dyn Fn(&str) -> Answer + Send + Sync>;

/// Starts the server; returns its address.
pub(crate) fn start(handler: Handler) -> Result<SocketAddr> {
    let listener = TcpListener::bind("127.0.0.1:0")?;
    let addr = listener.local_addr()?;
    thread::spawn(move || {
        for stream in listener.incoming().flatten() {
            let handler = Arc::clone(&handler);
            thread::spawn(move || {
                let _ = serve(stream, &handler);
            });
        }
    });
    Ok(addr)
}

/// One connection: GET requests (no bodies), keep-alive until closed.
fn serve(stream: TcpStream, handler: &Handler) -> io::Result<()> {
    stream.set_nodelay(true)?;
    stream.set_read_timeout(Some(Duration::from_secs(300)))?;
    let mut out = stream.try_clone()?;
    let mut reader = BufReader::new(stream);
    loop {
        let Some((target, close)) = read_request(&mut reader)? else {
            return Ok(());
        };
        let a = handler(&target);
        let head = format!(
            "HTTP/1.1 {}\r\nContent-Type: {}\r\nContent-Length: {}\r\n\
             Cache-Control: {}\r\n{}\r\n",
            a.status,
            a.content_type,
            a.body.len(),
            a.cache,
            if close { "Connection: close\r\n" } else { "" }
        );
        out.write_all(head.as_bytes())?;
        out.write_all(&a.body)?;
        out.flush()?;
        if close {
            return Ok(());
        }
    }
}

/// The next request's target and whether it asks to close the connection; `None` once the
/// client has closed it.
fn read_request(reader: &mut BufReader<TcpStream>) -> io::Result<Option<(String, bool)>> {
    let mut line = String::new();
    if reader.read_line(&mut line)? == 0 {
        return Ok(None);
    }
    let target = line.split_whitespace().nth(1).unwrap_or("/").to_owned();
    let mut close = false;
    loop {
        line.clear();
        if reader.read_line(&mut line)? == 0 {
            return Ok(None);
        }
        let header = line.trim_end().to_ascii_lowercase();
        if header.is_empty() {
            break;
        }
        close |= header.starts_with("connection:") && header.contains("close");
    }
    Ok(Some((target, close)))
}
