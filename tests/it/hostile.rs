//! Hostile paths: no 5xx, no panic, nothing reflected, nothing stored.

use crate::util::{Workdir, client, send};

#[tokio::test]
async fn naughty_paths_never_get_a_5xx_or_their_own_text_back() {
    let w = Workdir::new();
    w.config("[store]\nurl = \"data\"\n");
    let s = w.serve();
    let naughty = [
        "/<script>alert(1)<%2Fscript>.jpg",
        "/%3Cscript%3E.jpg",
        "/..%2F..%2Fetc%2Fpasswd.jpg",
        "/../../etc/passwd",
        "/12-34-10.jpg%00.png",
        "/12-34-10%0d%0aSet-Cookie:%20x=1.jpg",
        "/%E2%80%AE01-02-03.jpg",
        "/12-34-10.jpg/",
        "//12-34-10.jpg",
        "/12-34-10.JPG",
        "/' OR 1=1 --.jpg",
        "/${jndi:ldap:%2F%2Fx}.jpg",
        "/１２-３４-１０.jpg",
        "/12-34-10.jpg;.png",
    ];
    for path in naughty {
        let r = send(client().get(s.url(path))).await;
        assert!(r.status < 500, "{path}: {}", r.status);
        for (name, value) in &r.headers {
            let v = value.to_str().unwrap_or("");
            assert!(
                !v.contains("script") && !v.contains("passwd") && !v.contains("Cookie"),
                "{path}: header {name} reflects input: {v}"
            );
        }
        assert!(
            !String::from_utf8_lossy(&r.body).contains("<script"),
            "{path}"
        );
        assert_ne!(r.header("x-ogforge-tier"), "render", "{path}");
    }
    assert!(w.stored().is_empty(), "{:?}", w.stored());
}
