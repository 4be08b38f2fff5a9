//! The /connection page in a real browser: headless Chromium, trusting the bundled CA through
//! its NSS database (and nothing else), must render it.

mod support;

use std::path::Path;
use std::process::Command;

use support::browser::{chromium, trust_in_nss};
use support::*;

/// True when the picture has more than a handful of distinct colours.
fn has_content(png_file: &Path) -> bool {
    let decoder = png::Decoder::new(std::io::BufReader::new(
        std::fs::File::open(png_file).unwrap(),
    ));
    let mut reader = decoder.read_info().unwrap();
    let mut buf = vec![0; reader.output_buffer_size()];
    let info = reader.next_frame(&mut buf).unwrap();
    let pixels = &buf[..info.buffer_size()];
    let mut colours = std::collections::HashSet::new();
    for px in pixels.chunks(info.color_type.samples()) {
        colours.insert(px.to_vec());
        if colours.len() > 16 {
            return true;
        }
    }
    false
}

#[test]
fn the_connection_page_renders_in_headless_chromium_that_trusts_the_demo_ca() {
    assert!(
        Command::new("chromium").arg("--version").output().is_ok()
            && Command::new("certutil").arg("-H").output().is_ok(),
        "this test needs Chromium and NSS's certutil: apt-get install chromium libnss3-tools (./run_tests.sh does it)"
    );
    let server = Server::start(&[]);
    let home = tempfile::tempdir().unwrap();
    trust_in_nss(home.path(), &ca_file(), "HTTPS Demo CA");
    let url = server.url("/connection");
    let shot = home.path().join("connection.png");
    chromium(
        home.path(),
        &[
            "--window-size=1000,900",
            &format!("--screenshot={}", shot.display()),
            &url,
        ],
    );
    // Chromium exits 0 even when it refused the certificate; only the file tells.
    assert!(
        shot.exists(),
        "no screenshot: Chromium did not render the page"
    );
    assert!(has_content(&shot), "the screenshot is blank");
    let dom = text(&chromium(home.path(), &["--dump-dom", &url]).stdout);
    // Chromium's own interstitial ("Your connection is not private") also says "Your
    // connection": the page must be ours, with the connection it describes.
    assert!(
        !dom.contains("ERR_CERT") && !dom.contains("not private"),
        "Chromium refused the certificate: {dom}"
    );
    assert!(dom.contains("<h1>Your connection</h1>"), "{dom}");
    assert!(
        server.wait_for_log("path=\"/connection\""),
        "{}",
        server.logs()
    );
    let negotiated = server
        .logs()
        .lines()
        .rev()
        .find(|l| l.contains("TLS connection"))
        .unwrap()
        .to_string();
    let version = negotiated
        .split("version=\"")
        .nth(1)
        .unwrap()
        .split('"')
        .next()
        .unwrap()
        .to_string();
    assert!(
        dom.contains(&format!("<td>{version}</td>")),
        "the page does not show {version}: {dom}"
    );
}
