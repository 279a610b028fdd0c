//! `evl bench http`: a loopback load test of the HTTP API with a minimal keep-alive HTTP/1.1
//! client (so the client costs little next to the server it measures).

use crate::cli::HttpBenchArgs;
use crate::output::emit;
use anyhow::{Context as _, Result, bail};
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::{Duration, Instant};
use tokio::io::{AsyncBufReadExt as _, AsyncReadExt as _, AsyncWriteExt as _, BufReader};
use tokio::net::TcpStream;

/// One keep-alive connection.
struct Conn {
    stream: BufReader<TcpStream>,
    host: String,
    token: String,
}

impl Conn {
    async fn open(addr: &str, token: &str) -> Result<Self> {
        let s = TcpStream::connect(addr)
            .await
            .with_context(|| format!("connecting to {addr}"))?;
        s.set_nodelay(true)?;
        Ok(Self {
            stream: BufReader::new(s),
            host: addr.to_owned(),
            token: token.to_owned(),
        })
    }

    /// Sends one request; returns (status, body).
    async fn request(&mut self, method: &str, path: &str, body: Option<&[u8]>) -> Result<(u16, Vec<u8>)> {
        let mut req = format!(
            "{method} {path} HTTP/1.1\r\nHost: {}\r\nAuthorization: Bearer {}\r\n",
            self.host, self.token
        );
        if let Some(b) = body {
            req.push_str(&format!(
                "Content-Type: application/json\r\nContent-Length: {}\r\n",
                b.len()
            ));
        }
        req.push_str("\r\n");
        let s = self.stream.get_mut();
        s.write_all(req.as_bytes()).await?;
        if let Some(b) = body {
            s.write_all(b).await?;
        }
        let mut line = String::new();
        self.stream.read_line(&mut line).await?;
        let status: u16 = line
            .split_whitespace()
            .nth(1)
            .and_then(|x| x.parse().ok())
            .context("bad status line")?;
        let mut len = 0usize;
        loop {
            line.clear();
            self.stream.read_line(&mut line).await?;
            let l = line.trim_end();
            if l.is_empty() {
                break;
            }
            if let Some((k, v)) = l.split_once(':') {
                if k.eq_ignore_ascii_case("content-length") {
                    len = v.trim().parse().context("bad content-length")?;
                }
                if k.eq_ignore_ascii_case("transfer-encoding") {
                    bail!("chunked responses are not supported by the load client");
                }
            }
        }
        let mut body = vec![0u8; len];
        self.stream.read_exact(&mut body).await?;
        Ok((status, body))
    }
}

#[derive(Default)]
struct Tally {
    ok: AtomicU64,
    errors: AtomicU64,
    items: AtomicU64,
}

fn pct(v: &mut [f64], p: f64) -> f64 {
    if v.is_empty() {
        return 0.0;
    }
    v.sort_by(f64::total_cmp);
    v[(((v.len() - 1) as f64) * p).round() as usize]
}

/// Runs `clients` tasks for `dur`, each calling `step(conn, client, i)`; returns the tally and
/// per-request latencies in ms.
async fn phase<F, Fut>(
    addr: &str,
    token: &str,
    clients: usize,
    dur: Duration,
    step: F,
) -> Result<(Arc<Tally>, Vec<f64>, f64)>
where
    F: Fn(Conn, usize, u64) -> Fut + Send + Sync + Clone + 'static,
    Fut: std::future::Future<Output = (Conn, Result<u64>)> + Send,
{
    let tally = Arc::new(Tally::default());
    let start = Instant::now();
    let mut handles = Vec::new();
    for c in 0..clients {
        let conn = Conn::open(pick(addr, c), token).await?;
        let (tally, step) = (tally.clone(), step.clone());
        handles.push(tokio::spawn(async move {
            let mut lat = Vec::new();
            let mut conn = conn;
            let mut i = 0u64;
            while start.elapsed() < dur {
                let t = Instant::now();
                let (c2, r) = step(conn, c, i).await;
                conn = c2;
                lat.push(t.elapsed().as_secs_f64() * 1e3);
                match r {
                    Ok(n) => {
                        tally.ok.fetch_add(1, Ordering::Relaxed);
                        tally.items.fetch_add(n, Ordering::Relaxed);
                    }
                    Err(e) => {
                        tally.errors.fetch_add(1, Ordering::Relaxed);
                        tracing::warn!(error = %e, "request failed");
                    }
                }
                i += 1;
            }
            lat
        }));
    }
    let mut lat = Vec::new();
    for h in handles {
        lat.extend(h.await?);
    }
    Ok((tally, lat, start.elapsed().as_secs_f64()))
}

/// The address client `c` uses: `addrs` is one address or several joined by commas (one per
/// front end given with --url), taken in turn.
fn pick(addrs: &str, c: usize) -> &str {
    let n = addrs.split(',').count().max(1);
    addrs.split(',').nth(c % n).unwrap_or(addrs)
}

fn node(run: u64, client: usize, i: u64, k: usize) -> String {
    format!(
        r#"{{"type":"x-load","run":"{run:x}","c":{client},"i":{i},"k":{k},"pad":"{}"}}"#,
        "p".repeat(900)
    )
}

async fn append_step(mut conn: Conn, body: Vec<u8>, expect: usize) -> (Conn, Result<u64>) {
    let r = conn.request("POST", "/v1/nodes", Some(&body)).await;
    let r = match r {
        Ok((201, _)) => Ok(expect as u64),
        Ok((s, b)) => Err(anyhow::anyhow!("status {s}: {}", String::from_utf8_lossy(&b))),
        Err(e) => Err(e),
    };
    (conn, r)
}

pub fn run(args: &HttpBenchArgs) -> Result<std::process::ExitCode> {
    let rt = tokio::runtime::Builder::new_multi_thread().enable_all().build()?;
    rt.block_on(run_async(args))
}

async fn run_async(args: &HttpBenchArgs) -> Result<std::process::ExitCode> {
    let _tmp;
    let (addr, token) = match args.url.first() {
        Some(_) => {
            let mut addrs = Vec::new();
            for u in &args.url {
                let a = u.trim_start_matches("http://").trim_end_matches('/').to_owned();
                let host = a.split(':').next().unwrap_or_default();
                if !(host == "localhost" || host.starts_with("127.") || host == "[::1]") {
                    bail!("evl bench http only targets loopback addresses (got {host})");
                }
                addrs.push(a);
            }
            // Several front ends: client c talks to the (c mod n)-th (`pick`).
            let a = addrs.join(",");
            let t = match &args.token_file {
                Some(f) => std::fs::read_to_string(f)
                    .with_context(|| format!("reading {}", f.display()))?
                    .trim()
                    .to_owned(),
                None => bail!("--url needs --token-file with an append-scope token"),
            };
            (a, t)
        }
        None => {
            let tmp = tempfile::Builder::new().prefix("evl-bench-http-").tempdir()?;
            let dir = evl_server::data_dir::DataDir::new(tmp.path());
            evl_server::data_dir::initialize(&dir, "bench.local/ledger")?;
            let token = std::fs::read_to_string(dir.admin_token())?.trim().to_owned();
            let mut cfg = evl_server::config::Config {
                data: tmp.path().to_path_buf(),
                ..Default::default()
            };
            cfg.server.listen = "127.0.0.1:0".into();
            cfg.anchor.every_seconds = None;
            let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await?;
            let addr = listener.local_addr()?.to_string();
            drop(listener);
            cfg.server.listen = addr.clone();
            tokio::spawn(async move {
                if let Err(e) = evl_server::serve::run(cfg, "bench.local/ledger").await {
                    eprintln!("bench server failed: {e:#}");
                }
            });
            // Wait for the listener.
            let t0 = Instant::now();
            while TcpStream::connect(&addr).await.is_err() {
                if t0.elapsed() > Duration::from_secs(10) {
                    bail!("the in-process server did not start");
                }
                tokio::time::sleep(Duration::from_millis(20)).await;
            }
            _tmp = tmp;
            (addr, token)
        }
    };
    let dur = Duration::from_secs(args.seconds.max(1));
    if args.mix {
        return mixed(args, &addr, &token, dur).await;
    }
    let run = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map_or(0, |d| d.as_nanos() as u64);
    let batch = args.batch.max(1);

    // Phase 1: batched appends.
    let (t1, _, s1) = phase(&addr, &token, args.clients, dur, move |conn, c, i| async move {
        let nodes: Vec<String> = (0..batch).map(|k| node(run, c, i, k)).collect();
        let body = format!("{{\"nodes\":[{}]}}", nodes.join(",")).into_bytes();
        append_step(conn, body, batch).await
    })
    .await?;
    // Phase 2: single-node appends, each waiting for its receipt.
    let (t2, mut l2, s2) = phase(&addr, &token, args.clients, dur, move |conn, c, i| async move {
        append_step(conn, node(run ^ 1, c, i, 0).into_bytes(), 1).await
    })
    .await?;
    // Phase 3: proof fetches for nodes appended in phase 2.
    let ids: Arc<Vec<String>> = Arc::new(
        (0..args.clients)
            .flat_map(|c| (0..20u64).map(move |i| (c, i)))
            .map(|(c, i)| {
                evl_sdk::Node::from_json(node(run ^ 1, c, i, 0).as_bytes())
                    .map(|n| n.id().to_string())
                    .unwrap_or_default()
            })
            .collect(),
    );
    let (t3, mut l3, s3) = phase(&addr, &token, args.clients, dur, move |mut conn, c, i| {
        let ids = ids.clone();
        async move {
            let id = &ids[(c * 7919 + i as usize) % ids.len()];
            let r = match conn.request("GET", &format!("/v1/nodes/{id}/proof"), None).await {
                Ok((200, _)) => Ok(1),
                Ok((s, b)) => Err(anyhow::anyhow!("status {s}: {}", String::from_utf8_lossy(&b))),
                Err(e) => Err(e),
            };
            (conn, r)
        }
    })
    .await?;
    let errors = t1.errors.load(Ordering::Relaxed)
        + t2.errors.load(Ordering::Relaxed)
        + t3.errors.load(Ordering::Relaxed);
    let batch_rate = t1.items.load(Ordering::Relaxed) as f64 / s1;
    let single_rate = t2.ok.load(Ordering::Relaxed) as f64 / s2;
    let proof_rate = t3.ok.load(Ordering::Relaxed) as f64 / s3;
    let (p50, p99) = (pct(&mut l2, 0.5), pct(&mut l2, 0.99));
    let (pp50, pp99) = (pct(&mut l3, 0.5), pct(&mut l3, 0.99));
    let v = serde_json::json!({
        "clients": args.clients, "seconds_per_phase": args.seconds, "batch": batch, "errors": errors,
        "batched_append_nodes_per_s": batch_rate, "single_append_per_s": single_rate,
        "single_append_ms_p50": p50, "single_append_ms_p99": p99,
        "proof_fetches_per_s": proof_rate, "proof_ms_p50": pp50, "proof_ms_p99": pp99,
    });
    emit(args.out.output, &v, || {
        crate::outln!(
            "evl bench http: {} clients, {} s per phase, loopback {addr}",
            args.clients,
            args.seconds
        );
        crate::outln!("  batched append ({batch}/request)  {batch_rate:>10.0} nodes/s");
        crate::outln!(
            "  single append + receipt        {single_rate:>10.0} req/s   p50 {p50:.2} ms   p99 {p99:.2} ms"
        );
        crate::outln!(
            "  proof fetch                    {proof_rate:>10.0} req/s   p50 {pp50:.2} ms   p99 {pp99:.2} ms"
        );
        crate::outln!("  errors                         {errors:>10}");
    });
    Ok(if errors == 0 {
        std::process::ExitCode::SUCCESS
    } else {
        std::process::ExitCode::FAILURE
    })
}

/// The soak workload: proofs, single and batch appends mixed, plus an anchor every 10 s.
async fn mixed(
    args: &HttpBenchArgs,
    addr: &str,
    token: &str,
    dur: Duration,
) -> Result<std::process::ExitCode> {
    let run = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map_or(0, |d| d.as_nanos() as u64);
    let batch = args.batch.max(1);
    // Seed nodes so proofs have something to fetch.
    let mut seed = Conn::open(pick(addr, 0), token).await?;
    let seed_nodes: Vec<String> = (0..100).map(|k| node(run, 9999, 0, k)).collect();
    let (s, b) = seed
        .request(
            "POST",
            "/v1/nodes",
            Some(format!("{{\"nodes\":[{}]}}", seed_nodes.join(",")).as_bytes()),
        )
        .await?;
    if s != 201 {
        bail!("seeding failed: {s} {}", String::from_utf8_lossy(&b));
    }
    let ids: Arc<Vec<String>> = Arc::new(
        seed_nodes
            .iter()
            .map(|n| {
                evl_sdk::Node::from_json(n.as_bytes())
                    .map(|n| n.id().to_string())
                    .unwrap_or_default()
            })
            .collect(),
    );
    let anchors = Arc::new(AtomicU64::new(0));
    let anchor_errors = Arc::new(AtomicU64::new(0));
    {
        let (addr, token, anchors, anchor_errors) = (
            pick(addr, 0).to_owned(),
            token.to_owned(),
            anchors.clone(),
            anchor_errors.clone(),
        );
        tokio::spawn(async move {
            let start = Instant::now();
            while start.elapsed() < dur {
                tokio::time::sleep(Duration::from_secs(10)).await;
                match Conn::open(&addr, &token).await {
                    Ok(mut c) => match c.request("POST", "/v1/anchors", None).await {
                        Ok((201, _)) => {
                            anchors.fetch_add(1, Ordering::Relaxed);
                        }
                        _ => {
                            anchor_errors.fetch_add(1, Ordering::Relaxed);
                        }
                    },
                    Err(_) => {
                        anchor_errors.fetch_add(1, Ordering::Relaxed);
                    }
                }
            }
        });
    }
    let (t, mut lat, secs) = phase(addr, token, args.clients, dur, move |mut conn, c, i| {
        let ids = ids.clone();
        async move {
            let pick = (c as u64)
                .wrapping_mul(0x9e37_79b9)
                .wrapping_add(i.wrapping_mul(2_654_435_761))
                % 100;
            let r = if pick < 70 {
                let id = &ids[(c * 31 + i as usize) % ids.len()];
                match conn.request("GET", &format!("/v1/nodes/{id}/proof"), None).await {
                    Ok((200, _)) => Ok(1),
                    Ok((s, b)) => Err(anyhow::anyhow!(
                        "proof: status {s}: {}",
                        String::from_utf8_lossy(&b)
                    )),
                    Err(e) => Err(e),
                }
            } else if pick < 95 {
                let (c2, r) = append_step(conn, node(run, c, i, 0).into_bytes(), 1).await;
                conn = c2;
                r
            } else {
                let nodes: Vec<String> = (0..batch).map(|k| node(run, c, i, k + 1)).collect();
                let (c2, r) = append_step(
                    conn,
                    format!("{{\"nodes\":[{}]}}", nodes.join(",")).into_bytes(),
                    batch,
                )
                .await;
                conn = c2;
                r
            };
            (conn, r)
        }
    })
    .await?;
    let errors = t.errors.load(Ordering::Relaxed) + anchor_errors.load(Ordering::Relaxed);
    let rate = t.ok.load(Ordering::Relaxed) as f64 / secs;
    let (p50, p99) = (pct(&mut lat, 0.5), pct(&mut lat, 0.99));
    let v = serde_json::json!({"mode": "mixed", "clients": args.clients, "seconds": secs, "requests_per_s": rate,
        "ms_p50": p50, "ms_p99": p99, "anchors": anchors.load(Ordering::Relaxed), "errors": errors});
    emit(args.out.output, &v, || {
        crate::outln!(
            "evl bench http --mix: {} clients for {secs:.0} s on {addr}",
            args.clients
        );
        crate::outln!(
            "  requests {rate:>10.0}/s   p50 {p50:.2} ms   p99 {p99:.2} ms   anchors {}",
            anchors.load(Ordering::Relaxed)
        );
        crate::outln!("  errors   {errors:>10}");
    });
    Ok(if errors == 0 {
        std::process::ExitCode::SUCCESS
    } else {
        std::process::ExitCode::FAILURE
    })
}
