//! "Does it look right?": the report's table of pixel differences from Chromium's PNG, for
//! ogforge's PNG and JPEG, the browser renderer's PNG, and takumi-node from the peers' own
//! comparison.

use std::fmt::Write as _;

use super::{Report, f1, f2};
use crate::CARD_ID;

impl Report<'_> {
    /// The pixel comparison with Chromium's PNG.
    pub(super) fn quality_section(&self, s: &mut String) {
        s.push_str("\n## Does it look right?\n\n");
        let _ = writeln!(
            s,
            "ogforge's PNG of the standard card (`/card/{CARD_ID}.png`, kept as `docs/card.png`) \
             against Chromium's rendering from the same peers run \
             (`../shared/peers/out/chromium-warm-png.png`): mean absolute difference per channel \
             (0-255), PSNR, and the share of pixels where a channel differs by more than 32, as \
             `peers/RESULTS.md` computes them. takumi-node's row is the peers' own comparison.\n"
        );
        s.push_str("| output | mean abs diff | PSNR dB | pixels off by >32 |\n| --- | ---: | ---: | ---: |\n");
        self.quality_rows(s);
        self.peer_quality_rows(s);
    }

    /// The browser renderer's row, then ogforge's PNG and JPEG rows.
    fn quality_rows(&self, s: &mut String) {
        match &self.vs_chromium.browser {
            Some(Ok(q)) => {
                let _ = writeln!(
                    s,
                    "| ogforge browser renderer PNG (`/browser/{CARD_ID}.png`) | {:.2} | {:.1} | {:.2} % |",
                    q.mean_abs_diff, q.psnr, q.pct_over_32
                );
            }
            Some(Err(e)) => {
                let _ = writeln!(
                    s,
                    "| ogforge browser renderer | comparison failed: {e:#} | | |"
                );
            }
            None => {}
        }
        match &self.vs_chromium.html {
            Some(Ok((png, jpeg))) => {
                for (name, q) in [
                    ("ogforge PNG (docs/card.png)", png),
                    ("ogforge JPEG q80 4:2:0 (decoded by zune-jpeg)", jpeg),
                ] {
                    let _ = writeln!(
                        s,
                        "| {name} | {:.2} | {:.1} | {:.2} % |",
                        q.mean_abs_diff, q.psnr, q.pct_over_32
                    );
                }
            }
            Some(Err(e)) => {
                let _ = writeln!(s, "| ogforge | comparison failed: {e:#} | | |");
            }
            None => s.push_str("| ogforge | no Chromium reference (peers not run) | | |\n"),
        }
    }

    /// takumi-node's rows of the peers' own comparison.
    fn peer_quality_rows(&self, s: &mut String) {
        let Some(rows) = self
            .peers
            .json
            .as_ref()
            .and_then(|v| v["comparison"]["rows"].as_array())
        else {
            return;
        };
        for r in rows {
            let file = r["file"].as_str().unwrap_or("?");
            if file.contains("takumi") {
                let _ = writeln!(
                    s,
                    "| peers: {file} | {} | {} | {} % |",
                    f2(r["meanAbsDiff"].as_f64()),
                    f1(r["psnr"].as_f64()),
                    f2(r["pctPixelsOver32"].as_f64())
                );
            }
        }
    }
}
