//! A minimal HTTP/1.1 client on `std::net`: one request at a time per connection, keep-alive,
//! Nagle off, every read and write bounded by [`IO_TIMEOUT`]. Blocking on purpose, so the
//! figures carry no client-side async runtime. Also the check every measured response passes
//! ([`expect_image`]).

use std::{
    io::{BufRead, BufReader, Read, Write},
    net::{SocketAddr, TcpStream},
    time::Duration,
};

use anyhow::{Context, Result, anyhow, ensure};

/// Bounds every socket read and write, so a stuck server fails the run instead of hanging it.
const IO_TIMEOUT: Duration = Duration::from_secs(30);

#[derive(Debug)]
pub(crate) struct Response {
    pub(crate) status: u16,
    headers: Vec<(String, String)>,
    pub(crate) body: Vec<u8>,
}

impl Response {
    pub(crate) fn header(&self, name: &str) -> Option<&str> {
        self.headers
            .iter()
            .find(|(k, _)| k.eq_ignore_ascii_case(name))
            .map(|(_, v)| v.as_str())
    }
}

/// Fails unless `r` is a 200 image served from `tier`.
pub(crate) fn expect_image(r: &Response, tier: &str) -> Result<()> {
    ensure!(r.status == 200, "status {} (expected 200)", r.status);
    let got = r.header("x-ogforge-tier").unwrap_or("none");
    ensure!(
        got == tier,
        "served from tier {got} (expected {tier}); fallback reason: {}",
        r.header("x-ogforge-fallback").unwrap_or("none")
    );
    ensure!(!r.body.is_empty(), "empty body");
    Ok(())
}

#[derive(Debug)]
pub(crate) struct Conn {
    reader: BufReader<TcpStream>,
    host: String,
}

impl Conn {
    pub(crate) fn open(addr: SocketAddr) -> Result<Self> {
        let stream = TcpStream::connect_timeout(&addr, Duration::from_secs(5))
            .with_context(|| format!("cannot connect to {addr}"))?;
        stream.set_nodelay(true)?;
        stream.set_read_timeout(Some(IO_TIMEOUT))?;
        stream.set_write_timeout(Some(IO_TIMEOUT))?;
        Ok(Self {
            reader: BufReader::with_capacity(16 * 1024, stream),
            host: addr.to_string(),
        })
    }

    pub(crate) fn get(&mut self, path: &str) -> Result<Response> {
        self.send(path)?;
        self.receive()
            .with_context(|| format!("GET {path} from {}", self.host))
    }

    fn send(&mut self, path: &str) -> Result<()> {
        let request = format!(
            "GET {path} HTTP/1.1\r\nHost: {}\r\nUser-Agent: ogbench\r\nAccept: */*\r\n\r\n",
            self.host
        );
        self.reader.get_mut().write_all(request.as_bytes())?;
        Ok(())
    }

    fn receive(&mut self) -> Result<Response> {
        let mut line = String::new();
        self.line(&mut line)?;
        let status = line
            .split_whitespace()
            .nth(1)
            .and_then(|s| s.parse().ok())
            .ok_or_else(|| anyhow!("bad status line {line:?}"))?;
        let mut headers = Vec::new();
        loop {
            self.line(&mut line)?;
            let l = line.trim_end();
            if l.is_empty() {
                break;
            }
            if let Some((k, v)) = l.split_once(':') {
                headers.push((k.trim().to_ascii_lowercase(), v.trim().to_owned()));
            }
        }
        let mut response = Response {
            status,
            headers,
            body: Vec::new(),
        };
        if let Some(len) = response.header("content-length") {
            let len: usize = len.parse().context("bad content-length")?;
            response.body = vec![0; len];
            self.reader.read_exact(&mut response.body)?;
        } else if response
            .header("transfer-encoding")
            .is_some_and(|v| v.eq_ignore_ascii_case("chunked"))
        {
            response.body = self.chunked()?;
        } else {
            self.reader.read_to_end(&mut response.body)?;
        }
        Ok(response)
    }

    fn chunked(&mut self) -> Result<Vec<u8>> {
        let mut body = Vec::new();
        let mut line = String::new();
        loop {
            self.line(&mut line)?;
            let size = line.trim().split(';').next().unwrap_or_default();
            let size = usize::from_str_radix(size, 16).context("bad chunk size")?;
            if size == 0 {
                // Trailers, then the empty line.
                loop {
                    self.line(&mut line)?;
                    if line.trim_end().is_empty() {
                        return Ok(body);
                    }
                }
            }
            let start = body.len();
            body.resize(start + size, 0);
            self.reader.read_exact(&mut body[start..])?;
            self.line(&mut line)?;
        }
    }

    fn line(&mut self, buf: &mut String) -> Result<()> {
        buf.clear();
        let n = self.reader.read_line(buf)?;
        ensure!(n > 0, "connection closed by the server");
        Ok(())
    }
}
