//! `check`, `warm` and `render`: exit codes and messages that name the problem.

use crate::util::{EMBEDDED_ID, Workdir, run_in};

const FILE_STORE: &str = "[store]\nurl = \"data\"\n";

fn route(extra: &str) -> String {
    format!(
        "{FILE_STORE}[[routes]]\nname = \"r\"\npath = \"/r/{{id}}.jpg\"\nid_pattern = \"[0-9]+\"\n{extra}"
    )
}

/// `check` on a config must fail, mentioning every one of `needles`.
fn check_fails(w: &Workdir, needles: &[&str]) {
    let (code, out, err) = w.run(&["check", "-c", "ogforge.toml"], None);
    assert_ne!(code, 0, "check passed:\n{out}\n{err}");
    for n in needles {
        assert!(err.contains(n), "{n:?} not in:\n{err}");
    }
}

#[test]
fn check_passes_on_the_embedded_defaults_and_renders_the_sample() {
    let dir = tempfile::tempdir().unwrap();
    let (code, out, err) = run_in(dir.path(), &["check", "--store", "data"], None);
    assert_eq!(code, 0, "{out}\n{err}");
    assert!(out.contains("sample \"12-34-10\" rendered"), "{out}");
}

#[test]
fn check_names_a_bad_regex() {
    let w = Workdir::new();
    w.config(&format!(
        "{FILE_STORE}[[routes]]\nname = \"r\"\npath = \"/{{id}}.jpg\"\nid_pattern = \"([0-9]+\"\n"
    ));
    check_fails(
        &w,
        &["ogforge.toml", "routes[0].id_pattern", "unclosed group"],
    );
}

#[test]
fn check_requires_signing_for_free_text_ids() {
    let w = Workdir::new();
    let free = |signed: bool| {
        format!(
            "{FILE_STORE}[[routes]]\nname = \"quote\"\npath = \"/q/{{id}}.jpg\"\n\
             id_pattern = '[^/]+'\nsigned = {signed}\nsample_id = \"hello world\"\n\
             template = \"quote.html\"\n"
        )
    };
    w.write(
        "quote.html",
        "<div style=\"display:flex;width:100%;height:100%\">{{ id }}</div>",
    );
    w.config(&free(false));
    check_fails(&w, &["routes[0].signed", "free text"]);
    w.config(&free(true));
    let (code, out, err) = w.run(&["check", "-c", "ogforge.toml"], None);
    assert_eq!(code, 0, "{out}\n{err}");
}

#[test]
fn check_names_a_missing_template() {
    let w = Workdir::new();
    w.config(&route("template = \"nowhere.html\"\n"));
    check_fails(&w, &["routes[0].template", "nowhere.html", "No such file"]);
}

#[test]
fn check_names_an_unknown_key() {
    let w = Workdir::new();
    w.config(&route("colour = \"red\"\n"));
    check_fails(&w, &["ogforge.toml", "unknown field `colour`"]);
}

#[test]
fn check_names_a_bad_trusted_proxy_and_rate_limit() {
    let w = Workdir::new();
    w.config("[server]\nadmin_listen = \"\"\ntrusted_proxies = [\"10.0.0.0/8\", \"10.0.0.300\"]\n");
    check_fails(
        &w,
        &["ogforge.toml", "server.trusted_proxies[1]", "10.0.0.300"],
    );
    w.config("[rate_limit]\nover_limit = \"drop\"\n");
    check_fails(&w, &["rate_limit.over_limit", "too-many-requests"]);
}

#[test]
fn check_names_a_bad_store_url() {
    let w = Workdir::new();
    w.config("[store]\nurl = \"ftp://bucket/x\"\n");
    check_fails(&w, &["store.url", "unsupported scheme \"ftp\""]);
}

#[test]
fn check_names_a_template_syntax_error() {
    let w = Workdir::new();
    w.write("bad.html", "<div>\n{% if %}\n</div>");
    w.config(&route("template = \"bad.html\"\n"));
    check_fails(&w, &["routes[0].template", "bad.html", "line 2"]);
}

#[test]
fn check_fails_when_a_sample_does_not_render() {
    let w = Workdir::new();
    w.write(
        "undefined.html",
        "<div style=\"display:flex\">{{ nope }}</div>",
    );
    w.config(&route("template = \"undefined.html\"\nsample_id = \"7\"\n"));
    check_fails(&w, &["routes[0].template", "sample \"7\" does not render"]);
}

#[test]
fn check_names_a_sample_id_that_its_own_route_refuses() {
    let w = Workdir::new();
    w.config(&route("sample_id = \"abc\"\n"));
    check_fails(&w, &["routes[0].sample_id"]);
}

#[test]
fn serve_refuses_a_broken_config_naming_the_key() {
    let w = Workdir::new();
    w.config("[server]\nlisten = \"not-an-address\"\n");
    let (code, _, err) = w.run(&["serve", "-c", "ogforge.toml"], None);
    assert_ne!(code, 0);
    assert!(err.contains("server.listen"), "{err}");
}

#[test]
fn render_writes_the_image_and_stores_it_unless_told_not_to() {
    let w = Workdir::new();
    w.config(FILE_STORE);
    let path = format!("/{EMBEDDED_ID}.jpg");
    let (code, _, err) = w.run(
        &[
            "render",
            &path,
            "-o",
            "a.jpg",
            "-c",
            "ogforge.toml",
            "--no-store",
        ],
        None,
    );
    assert_eq!(code, 0, "{err}");
    assert!(
        std::fs::read(w.path().join("a.jpg"))
            .unwrap()
            .starts_with(&[0xFF, 0xD8])
    );
    assert!(w.stored().is_empty());
    let (code, _, err) = w.run(
        &["render", &path, "-o", "b.jpg", "-c", "ogforge.toml"],
        None,
    );
    assert_eq!(code, 0, "{err}");
    assert_eq!(w.stored().len(), 1);
    assert_eq!(
        std::fs::read(w.path().join("a.jpg")).unwrap(),
        std::fs::read(w.path().join("b.jpg")).unwrap(),
        "renders are deterministic"
    );
    let (code, _, err) = w.run(
        &["render", "/nope.jpg", "-o", "c.jpg", "-c", "ogforge.toml"],
        None,
    );
    assert_ne!(code, 0);
    assert!(err.contains("invalid-id"), "{err}");
    assert!(!w.path().join("c.jpg").exists());
}

#[test]
fn warm_renders_what_is_missing_and_summarises() {
    let w = Workdir::new();
    w.config(FILE_STORE);
    // One id already stored.
    let (code, _, err) = w.run(
        &[
            "render",
            "/01-02-03.jpg",
            "-o",
            "x.jpg",
            "-c",
            "ogforge.toml",
        ],
        None,
    );
    assert_eq!(code, 0, "{err}");
    let list = "# a comment\n01-02-03\n04-05-06\n/07-08-09.jpg\n\nnot-an-id\n/x/../etc/passwd\n";
    let (code, out, err) = w.run(&["warm", "-c", "ogforge.toml", "--from", "-"], Some(list));
    assert_eq!(code, 0, "{out}\n{err}");
    assert!(
        out.contains("warm: 2 rendered, 1 already stored, 2 invalid, 0 failed"),
        "{out}\n{err}"
    );
    assert_eq!(w.stored().len(), 3, "{:?}", w.stored());
    // --strict makes invalid entries fail the run.
    let (code, out, _) = w.run(
        &["warm", "-c", "ogforge.toml", "--strict"],
        Some("04-05-06\nbad\n"),
    );
    assert_eq!(code, 1);
    assert!(
        out.contains("0 rendered, 1 already stored, 1 invalid, 0 failed"),
        "{out}"
    );
}

#[test]
fn warm_above_the_render_slots_and_queue_refuses_nothing() {
    let w = Workdir::new();
    w.config(&format!(
        "{FILE_STORE}[render]\nconcurrency = 1\nqueue = 0\n"
    ));
    let list: String = (0..24)
        .map(|i| format!("{:02}-{:02}-00\n", i, i + 1))
        .collect();
    let (code, out, err) = w.run(
        &["warm", "-c", "ogforge.toml", "--concurrency", "8"],
        Some(&list),
    );
    assert_eq!(code, 0, "{out}\n{err}");
    assert!(
        out.contains("warm: 24 rendered, 0 already stored, 0 invalid, 0 failed"),
        "{out}"
    );
}

#[test]
fn warm_exits_non_zero_when_a_render_fails() {
    let w = Workdir::new();
    w.write("broken.html", "{{ missing.x }}");
    w.config(&route("template = \"broken.html\"\n"));
    w.write("ids.txt", "1\n2\n");
    let (code, out, err) = w.run(&["warm", "-c", "ogforge.toml", "--from", "ids.txt"], None);
    assert_eq!(code, 1, "{out}\n{err}");
    assert!(
        out.contains("0 rendered, 0 already stored, 0 invalid, 2 failed"),
        "{out}"
    );
    assert!(err.contains("template-error"), "{err}");
    assert!(w.stored().is_empty());
}

/// Issue 11: `check` writes, reads back and deletes a probe object, so a dead store, a wrong
/// key fail it with words to act on, not only a URL that parses.
#[test]
fn check_probes_the_store_for_real() {
    let mut s3 = crate::util::S3::start();
    let w = Workdir::new();
    w.config(&s3.store_toml());
    let (code, out, err) = w.run(&["check", "-c", "ogforge.toml"], None);
    assert_eq!(code, 0, "{out}\n{err}");
    assert!(
        s3.keys().is_empty(),
        "the probe is deleted: {:?}",
        s3.keys()
    );

    let secret = crate::util::S3_SECRET;
    w.config(&s3.store_toml().replace(secret, "a-wrong-secret-0123456789"));
    check_fails(
        &w,
        &["store.url", "refused the credentials", "access_key_id"],
    );
    // (A missing bucket cannot be shown here: s3s-fs creates it on the first write.)
    w.config(&s3.store_toml());
    s3.stop();
    check_fails(&w, &["store.url", "cannot connect"]);
}

/// Issue 11: a request deadline shorter than a store read plus a render is refused by `check`.
#[test]
fn check_refuses_a_request_deadline_shorter_than_a_store_read_and_a_render() {
    let w = Workdir::new();
    w.config(&format!(
        "[server]\nadmin_listen = \"\"\nrequest_timeout_ms = 6000\n{FILE_STORE}timeout_ms = 5000\n"
    ));
    check_fails(
        &w,
        &[
            "server.request_timeout_ms",
            "store.timeout_ms",
            "render.timeout_ms",
            "8s",
        ],
    );
}

/// Issue 11: an undefined template variable is named, with the variables the template sees.
#[test]
fn check_names_an_undefined_template_variable() {
    let w = Workdir::new();
    w.write(
        "undefined.html",
        "<div style=\"display:flex\">{{ id }} {{ title }}</div>",
    );
    w.config(&route("template = \"undefined.html\"\nsample_id = \"7\"\n"));
    check_fails(
        &w,
        &[
            "routes[0].template",
            "`title` is undefined",
            "id, route, width, height",
        ],
    );
}

/// `ogforge health`: 0 while the admin listener says ready, 1 with the reason when nothing
/// answers (the container image's HEALTHCHECK).
#[test]
fn health_is_zero_when_ready_and_one_when_unreachable() {
    let w = Workdir::new();
    w.config(FILE_STORE);
    let server = w.serve();
    let (code, out, err) = w.run(&["health", "--admin", &server.admin], None);
    assert_eq!(code, 0, "{out}{err}");
    assert!(out.contains("ready"), "{out}");
    let dead = format!("http://127.0.0.1:{}", crate::util::free_port());
    let (code, _, err) = w.run(&["health", "--admin", &dead], None);
    assert_eq!(code, 1);
    assert!(err.contains("cannot reach"), "{err}");
}
