//! Single-flight: many connections ask for one new id at the same instant, and ogforge's
//! `/metrics` says how many renders that took (one is the contract). Also which responses
//! waited on that render (`Cache-Status: collapsed`), which came from memory after it, and
//! whether every body is the same.

use std::{
    net::SocketAddr,
    sync::{Arc, Barrier},
    thread,
};

use anyhow::{Result, anyhow};

use crate::{
    http::{Conn, Response, expect_image},
    metrics::{metric_sum, scrape_at},
};

/// The id every connection asks for; no other series uses it.
const FLIGHT_PATH: &str = "/card/999000001.jpg";

#[derive(Debug, Clone, Copy)]
pub(crate) struct Flight {
    pub(crate) requests: usize,
    pub(crate) renders: f64,
    pub(crate) collapsed: usize,
    pub(crate) late: usize,
    pub(crate) identical: bool,
}

/// `n` connections ask for one new id at the same instant; `/metrics` counts the renders.
pub(crate) fn single_flight(addr: SocketAddr, admin: u16, n: usize) -> Result<Flight> {
    let admin = SocketAddr::from(([127, 0, 0, 1], admin));
    let renders0 = metric_sum(&scrape_at(admin)?, "ogforge_renders_total");
    let responses = at_once(addr, n)?;
    let renders = metric_sum(&scrape_at(admin)?, "ogforge_renders_total") - renders0;
    // Requests that arrive after the render has finished are memory hits; both are fine.
    let mut late = 0;
    for r in &responses {
        if expect_image(r, "render").is_err() {
            expect_image(r, "memory")?;
            late += 1;
        }
    }
    let collapsed = responses
        .iter()
        .filter(|r| {
            r.header("cache-status")
                .is_some_and(|v| v.contains("collapsed"))
        })
        .count();
    let identical = responses.windows(2).all(|w| w[0].body == w[1].body);
    Ok(Flight {
        requests: n,
        renders,
        collapsed,
        late,
        identical,
    })
}

/// `n` connections opened first, then [`FLIGHT_PATH`] sent on all of them behind one barrier;
/// their responses.
fn at_once(addr: SocketAddr, n: usize) -> Result<Vec<Response>> {
    let conns = (0..n)
        .map(|_| Conn::open(addr))
        .collect::<Result<Vec<_>>>()?;
    let start = Arc::new(Barrier::new(n + 1));
    let workers: Vec<_> = conns
        .into_iter()
        .map(|mut conn| {
            let start = Arc::clone(&start);
            thread::spawn(move || -> Result<Response> {
                start.wait();
                conn.get(FLIGHT_PATH)
            })
        })
        .collect();
    start.wait();
    let mut responses = Vec::with_capacity(n);
    for w in workers {
        responses.push(
            w.join()
                .map_err(|_| anyhow!("a client thread panicked"))??,
        );
    }
    Ok(responses)
}
