//! Charts drawn on the server as SVG: no scripts, no external files.

fn esc(s: &str) -> String {
    s.replace('&', "&amp;")
        .replace('<', "&lt;")
        .replace('>', "&gt;")
        .replace('"', "&quot;")
}

/// A bar chart of labelled values, with an accessible title.
pub fn bars(title: &str, points: &[(String, u64)]) -> String {
    let w = 640.0_f64;
    let h = 220.0_f64;
    let (left, bottom, top) = (40.0, 30.0, 20.0);
    let max = points.iter().map(|p| p.1).max().unwrap_or(0).max(1) as f64;
    let n = points.len().max(1) as f64;
    let slot = (w - left - 10.0) / n;
    let bar = (slot * 0.7).max(1.0);
    let mut out = format!(
        "<svg class=\"chart\" viewBox=\"0 0 {w} {h}\" role=\"img\" aria-label=\"{t}\" xmlns=\"http://www.w3.org/2000/svg\"><title>{t}</title>",
        t = esc(title)
    );
    out.push_str(&format!(
        "<line x1=\"{left}\" y1=\"{y}\" x2=\"{x2}\" y2=\"{y}\" stroke=\"#8a94a3\"/>",
        y = h - bottom,
        x2 = w - 10.0
    ));
    out.push_str(&format!(
        "<text x=\"{x}\" y=\"{y}\" font-size=\"11\" text-anchor=\"end\" fill=\"#5f6b7a\">{max}</text>",
        x = left - 4.0,
        y = top + 4.0,
        max = max as u64
    ));
    let label_every = (points.len() / 10).max(1);
    for (i, (label, v)) in points.iter().enumerate() {
        let bh = (*v as f64 / max) * (h - bottom - top);
        let x = left + i as f64 * slot + (slot - bar) / 2.0;
        let y = h - bottom - bh;
        out.push_str(&format!(
            "<rect x=\"{x:.1}\" y=\"{y:.1}\" width=\"{bar:.1}\" height=\"{bh:.1}\" fill=\"#0b57a4\"><title>{l}: {v}</title></rect>",
            l = esc(label)
        ));
        if i % label_every == 0 {
            out.push_str(&format!(
                "<text x=\"{cx:.1}\" y=\"{ty}\" font-size=\"10\" text-anchor=\"middle\" fill=\"#5f6b7a\">{l}</text>",
                cx = x + bar / 2.0,
                ty = h - bottom + 14.0,
                l = esc(label)
            ));
        }
    }
    out.push_str("</svg>");
    out
}

#[cfg(test)]
mod tests {
    #[test]
    fn bars_scale_and_escape() {
        let svg = super::bars("A <b>", &[("01/11".into(), 5), ("02/11".into(), 10)]);
        assert!(svg.starts_with("<svg") && svg.ends_with("</svg>"));
        assert!(svg.contains("A &lt;b&gt;"));
        assert_eq!(svg.matches("<rect").count(), 2);
        assert!(!svg.contains("<script"));
        let empty = super::bars("x", &[]);
        assert!(empty.contains("</svg>"));
    }
}
