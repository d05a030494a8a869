# Varnish in front of N ogforge replicas: one cache, a shard director (consistent hashing by
# path), request collapsing, grace. docs/deploy.md explains the choices; scripts/check-deploy.sh
# compiles it (varnishd -C).
#
#   varnishd -a :80 -f /etc/varnish/ogforge.vcl -s malloc,1G -p backend_idle_timeout=5
#
# backend_idle_timeout (a varnishd parameter, 60 s by default) must stay below ogforge's
# server.header_read_timeout_ms (10 s), or Varnish reuses connections ogforge is closing
# (docs/operations.md). ogforge must trust this proxy's address for X-Forwarded-For
# (server.trusted_proxies), which Varnish appends the client's address to.
#
# Site-specific lines are marked with a tag that a test harness can rewrite with sed:
#     [backend]   one replica's address, as .host and .port (127.0.0.1:8081..8083 here).
# Backend hosts are resolved when the VCL is loaded, to exactly one address each.

vcl 4.1;

import directors;

# --- replicas -------------------------------------------------------------------------------
# ogforge's health endpoints are on its admin port, which a Varnish probe cannot reach (a probe
# asks the backend's own address), so the probe asks the public listener for something cheap
# that renders nothing: the tags endpoint, 200 for any id.
probe ogforge_probe {
    .request =
        "GET /_ogforge/tags?id=probe HTTP/1.1"
        "Host: ogforge"
        "User-Agent: varnish-probe"
        "Connection: close";
    .expected_response = 200;
    .interval = 5s;
    .timeout = 2s;
    .window = 5;
    .threshold = 3;
}

backend ogforge1 {
    .host = "127.0.0.1"; # [backend]
    .port = "8081"; # [backend]
    .probe = ogforge_probe;
    .connect_timeout = 2s;
    # A miss waits for a render and its store write: server.request_timeout_ms (10 s) bounds it.
    .first_byte_timeout = 15s;
    .between_bytes_timeout = 5s;
}

backend ogforge2 {
    .host = "127.0.0.1"; # [backend]
    .port = "8082"; # [backend]
    .probe = ogforge_probe;
    .connect_timeout = 2s;
    .first_byte_timeout = 15s;
    .between_bytes_timeout = 5s;
}

backend ogforge3 {
    .host = "127.0.0.1"; # [backend]
    .port = "8083"; # [backend]
    .probe = ogforge_probe;
    .connect_timeout = 2s;
    .first_byte_timeout = 15s;
    .between_bytes_timeout = 5s;
}

sub vcl_init {
    # Consistent hashing: one path always goes to one replica (its memory tier and its
    # single-flight); a replica added, removed or sick moves only its own share of the paths
    # to the next replica on the ring.
    new ogforge_shard = directors.shard();
    ogforge_shard.add_backend(ogforge1);
    ogforge_shard.add_backend(ogforge2);
    ogforge_shard.add_backend(ogforge3);
    ogforge_shard.reconfigure();
}

# --- requests -------------------------------------------------------------------------------
sub vcl_recv {
    # Only GET and HEAD reach the replicas (ogforge answers 405 to the rest anyway).
    if (req.method != "GET" && req.method != "HEAD") {
        return (synth(405, "Method Not Allowed"));
    }
    if (req.url !~ "^/") {
        return (synth(400, "Bad Request"));
    }
    # Cookies and credentials are never part of an image: not sent, and no reason to pass.
    unset req.http.Cookie;
    unset req.http.Authorization;

    # The tags endpoint: its query is its input; the URL stays whole (and is the key).
    if (req.url ~ "^/_ogforge/") {
        return (hash);
    }

    # Images: the path exactly as sent (never decoded: /q/AC%2FDC.jpg, the id "AC/DC", is not
    # /q/AC/DC.jpg, an invalid id), plus the two parameters ogforge reads on image routes:
    # `v` (server.ignored_query_params: a site's cache-buster, so it stays in the key) and
    # `sig` (signed routes: a cached image must never answer a request without its
    # signature). Every other parameter is noise: dropped from the URL, so from the key and
    # from the request sent upstream (`?utm_source=...` neither splits the cache nor gets
    # ogforge's 400). Empty values count as absent.
    set req.http.X-Ogforge-Path = regsub(req.url, "\?.*$", "");
    unset req.http.X-Ogforge-Query;
    if (req.url ~ "\?([^&]*&)*v=[^&]") {
        set req.http.X-Ogforge-Query = "?v=" + regsub(req.url, "^[^?]*\?(?:[^&]*&)*?v=([^&]*).*$", "\1");
    }
    if (req.url ~ "\?([^&]*&)*sig=[^&]") {
        if (req.http.X-Ogforge-Query) {
            set req.http.X-Ogforge-Query = req.http.X-Ogforge-Query + "&sig=";
        } else {
            set req.http.X-Ogforge-Query = "?sig=";
        }
        set req.http.X-Ogforge-Query = req.http.X-Ogforge-Query + regsub(req.url, "^[^?]*\?(?:[^&]*&)*?sig=([^&]*).*$", "\1");
    }
    set req.url = req.http.X-Ogforge-Path + req.http.X-Ogforge-Query;
    unset req.http.X-Ogforge-Path;
    unset req.http.X-Ogforge-Query;
    return (hash);
}

# The key is the (reduced) URL alone: not the Host, not cookies.
sub vcl_hash {
    hash_data(req.url);
    return (lookup);
}

# --- fetches --------------------------------------------------------------------------------
sub vcl_backend_fetch {
    if (bereq.url ~ "^/_ogforge/") {
        set bereq.backend = ogforge_shard.backend(by=URL);
    } else {
        # By path only: `v` and `sig` do not change which image is rendered, so every spelling
        # of one card meets the same replica's memory.
        set bereq.backend = ogforge_shard.backend(by=KEY,
            key=ogforge_shard.key(regsub(bereq.url, "\?.*$", "")));
    }
}

sub vcl_backend_response {
    # A background refresh (grace) that failed keeps the stale copy rather than replacing it.
    if (bereq.is_bgfetch && beresp.status >= 500) {
        return (abandon);
    }
    unset beresp.http.Set-Cookie;
    # Refusals, 429 and 503 say no-store: not cached, and only briefly marked as such, so that
    # the next requests for the key are collapsed again soon (Varnish's default is 120 s of
    # uncollapsed misses).
    if (beresp.http.Cache-Control ~ "(?i)no-store|private") {
        set beresp.ttl = 1s;
        set beresp.uncacheable = true;
        return (deliver);
    }
    # The TTL is the origin's: Varnish reads s-maxage, then max-age (cards: a year; default
    # images, marked X-Ogforge-Fallback: routes[].fallback_max_age, 60 s by default).
    if (beresp.http.X-Ogforge-Fallback) {
        # A default image is never served long past its lifetime: the card may render now.
        set beresp.grace = 10s;
        set beresp.keep = 0s;
    } else {
        # Grace: serve a card for up to an hour past its TTL while a background fetch
        # refreshes it, or while its replica is down. Keep: revalidate with If-None-Match
        # (ogforge's ETag, equal on every replica) for a day after that.
        set beresp.grace = 1h;
        set beresp.keep = 1d;
    }
    return (deliver);
}

# --- responses ------------------------------------------------------------------------------
sub vcl_deliver {
    # RFC 9211 Cache-Status entry of this cache, after ogforge's own.
    if (obj.hits > 0) {
        if (obj.ttl < 0s) {
            set req.http.X-Ogforge-Front = "hit; detail=stale";
        } else {
            set req.http.X-Ogforge-Front = "hit";
        }
    } else if (obj.uncacheable) {
        set req.http.X-Ogforge-Front = "fwd=bypass";
    } else {
        set req.http.X-Ogforge-Front = "fwd=miss";
    }
    if (resp.http.Cache-Status) {
        set resp.http.Cache-Status = resp.http.Cache-Status + ", ogforge-varnish; " + req.http.X-Ogforge-Front;
    } else {
        set resp.http.Cache-Status = "ogforge-varnish; " + req.http.X-Ogforge-Front;
    }
    unset req.http.X-Ogforge-Front;
}

sub vcl_synth {
    set resp.http.Cache-Control = "no-store";
    set resp.http.Content-Type = "text/plain; charset=utf-8";
    if (resp.status == 405) {
        set resp.http.Allow = "GET, HEAD";
    }
    set resp.body = resp.reason + {"
"};
    return (deliver);
}
