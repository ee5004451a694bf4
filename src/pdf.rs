//! The request form (Giấy đề nghị tạo tài khoản) as an A4 PDF.
//!
//! A small PDF writer: one page, text in DejaVu Sans (embedded in the binary,
//! Bitstream Vera licence, covers every Vietnamese letter as a precomposed
//! glyph), written as a CID font (Identity-H) holding only the glyphs the
//! page uses (`subsetter`), with a ToUnicode map so the text can be copied
//! and searched. Bold is drawn by stroking the glyph outlines, so one font
//! file serves both weights.

use std::collections::BTreeMap;
use std::io::Write;

use crate::domain::text;

static FONT: &[u8] = include_bytes!("../web/fonts/DejaVuSans.ttf");

/// A4 in points.
pub const PAGE_W: f32 = 595.28;
pub const PAGE_H: f32 = 841.89;

#[derive(Debug, thiserror::Error)]
pub enum PdfError {
    #[error("font: {0}")]
    Font(String),
    #[error("io: {0}")]
    Io(#[from] std::io::Error),
}

/// What the form shows.
#[derive(Debug, Clone, Default)]
pub struct RequestForm {
    pub request_code: String,
    pub full_name: String,
    pub birth_date: String,
    pub id_kind: String,
    pub id_number: String,
    pub phone: String,
    pub email: Option<String>,
    pub unit_name: String,
    pub staff_name: String,
    pub staff_phone: String,
    /// dd/mm/yyyy HH:MM
    pub created_at: String,
    /// dd/mm/yyyy HH:MM
    pub printed_at: String,
}

#[derive(Clone, Copy, PartialEq)]
enum Weight {
    Regular,
    Bold,
}

/// A page being drawn: content stream operators and the glyphs used.
struct Page<'f> {
    face: ttf_parser::Face<'f>,
    upem: f32,
    ops: String,
    /// original glyph id → char (for ToUnicode)
    used: BTreeMap<u16, char>,
}

impl<'f> Page<'f> {
    fn new(face: ttf_parser::Face<'f>) -> Page<'f> {
        let upem = f32::from(face.units_per_em());
        Page {
            face,
            upem,
            ops: String::new(),
            used: BTreeMap::new(),
        }
    }

    fn glyph(&self, c: char) -> u16 {
        self.face
            .glyph_index(c)
            .or_else(|| self.face.glyph_index('?'))
            .map_or(0, |g| g.0)
    }

    fn advance(&self, gid: u16) -> f32 {
        f32::from(
            self.face
                .glyph_hor_advance(ttf_parser::GlyphId(gid))
                .unwrap_or(0),
        )
    }

    /// Width of `s` at `size` points.
    fn width(&self, s: &str, size: f32) -> f32 {
        s.chars().map(|c| self.advance(self.glyph(c))).sum::<f32>() * size / self.upem
    }

    fn text(&mut self, x: f32, y: f32, size: f32, weight: Weight, s: &str) {
        let s = text::nfc(s);
        let mut hex = String::with_capacity(s.len() * 4);
        for c in s.chars() {
            let gid = self.glyph(c);
            self.used.entry(gid).or_insert(c);
            hex.push_str(&format!("{gid:04X}"));
        }
        let mode = match weight {
            // Fill and stroke the outlines: a bold look from the regular face.
            Weight::Bold => format!("2 Tr {:.2} w ", size * 0.035),
            Weight::Regular => "0 Tr ".to_string(),
        };
        self.ops.push_str(&format!(
            "BT /F1 {size:.1} Tf {mode}{x:.2} {y:.2} Td <{hex}> Tj ET\n"
        ));
    }

    fn centered(&mut self, y: f32, size: f32, weight: Weight, s: &str) {
        let w = self.width(s, size);
        self.text((PAGE_W - w) / 2.0, y, size, weight, s);
    }

    fn centered_in(&mut self, cx: f32, y: f32, size: f32, weight: Weight, s: &str) {
        let w = self.width(s, size);
        self.text(cx - w / 2.0, y, size, weight, s);
    }

    fn right(&mut self, x_right: f32, y: f32, size: f32, weight: Weight, s: &str) {
        let w = self.width(s, size);
        self.text(x_right - w, y, size, weight, s);
    }

    fn line(&mut self, x1: f32, y1: f32, x2: f32, y2: f32, width: f32) {
        self.ops.push_str(&format!(
            "{width:.2} w {x1:.2} {y1:.2} m {x2:.2} {y2:.2} l S\n"
        ));
    }

    fn rect(&mut self, x: f32, y: f32, w: f32, h: f32, width: f32) {
        self.ops
            .push_str(&format!("{width:.2} w {x:.2} {y:.2} {w:.2} {h:.2} re S\n"));
    }

    /// Greedy word wrap to `max` points.
    fn wrap(&self, s: &str, size: f32, max: f32) -> Vec<String> {
        let mut lines = vec![];
        let mut cur = String::new();
        for word in s.split_whitespace() {
            let candidate = if cur.is_empty() {
                word.to_string()
            } else {
                format!("{cur} {word}")
            };
            if self.width(&candidate, size) <= max || cur.is_empty() {
                cur = candidate;
            } else {
                lines.push(std::mem::take(&mut cur));
                cur = word.to_string();
            }
        }
        if !cur.is_empty() {
            lines.push(cur);
        }
        lines
    }

    /// A label in bold followed by a value that wraps under itself.
    fn field(&mut self, x: f32, y: f32, size: f32, label: &str, value: &str, max_x: f32) -> f32 {
        self.text(x, y, size, Weight::Regular, label);
        let vx = x + self.width(label, size) + 4.0;
        let lines = self.wrap(value, size, max_x - vx);
        let mut y = y;
        for (i, l) in lines.iter().enumerate() {
            if i > 0 {
                y -= size * 1.45;
            }
            self.text(vx, y, size, Weight::Bold, l);
        }
        y
    }

    fn paragraph(&mut self, x: f32, y: f32, size: f32, s: &str, max_w: f32) -> f32 {
        let mut y = y;
        for l in self.wrap(s, size, max_w) {
            self.text(x, y, size, Weight::Regular, &l);
            y -= size * 1.45;
        }
        y
    }
}

/// Renders the request form.
pub fn request_form(f: &RequestForm) -> Result<Vec<u8>, PdfError> {
    let face = ttf_parser::Face::parse(FONT, 0).map_err(|e| PdfError::Font(e.to_string()))?;
    let mut p = Page::new(face);
    let left = 62.0;
    let right = PAGE_W - 56.0;
    let width = right - left;

    let mut y = PAGE_H - 64.0;
    p.centered(y, 12.0, Weight::Bold, "CỘNG HÒA XÃ HỘI CHỦ NGHĨA VIỆT NAM");
    y -= 17.0;
    p.centered(y, 12.0, Weight::Bold, "Độc lập - Tự do - Hạnh phúc");
    y -= 6.0;
    let motto_w = p.width("Độc lập - Tự do - Hạnh phúc", 12.0);
    p.line(
        (PAGE_W - motto_w) / 2.0,
        y,
        (PAGE_W + motto_w) / 2.0,
        y,
        0.8,
    );
    y -= 26.0;
    let date = f.created_at.get(..10).unwrap_or("");
    let (dd, mm, yyyy) = (
        date.get(..2).unwrap_or(""),
        date.get(3..5).unwrap_or(""),
        date.get(6..10).unwrap_or(""),
    );
    p.right(
        right,
        y,
        11.0,
        Weight::Regular,
        &format!("Ngày {dd} tháng {mm} năm {yyyy}"),
    );
    y -= 40.0;
    p.centered(y, 15.0, Weight::Bold, "GIẤY ĐỀ NGHỊ TẠO TÀI KHOẢN");
    y -= 20.0;
    p.centered(y, 13.0, Weight::Bold, "TRÊN CỔNG DỊCH VỤ CÔNG QUỐC GIA");
    y -= 16.0;
    p.centered(
        y,
        9.5,
        Weight::Regular,
        &format!("Mã yêu cầu: {}", f.request_code),
    );
    y -= 30.0;
    y = p.field(left, y, 11.5, "Kính gửi:", &f.unit_name, right);
    y -= 28.0;

    let size = 11.5;
    let step = size * 1.9;
    p.text(left, y, 12.0, Weight::Bold, "I. THÔNG TIN CÔNG DÂN");
    y -= step;
    y = p.field(left + 14.0, y, size, "1. Họ và tên:", &f.full_name, right) - step;
    y = p.field(left + 14.0, y, size, "2. Ngày sinh:", &f.birth_date, right) - step;
    y = p.field(
        left + 14.0,
        y,
        size,
        &format!("3. Số {}:", f.id_kind),
        &f.id_number,
        right,
    ) - step;
    y = p.field(left + 14.0, y, size, "4. Số điện thoại:", &f.phone, right);
    y -= size * 1.35;
    p.text(
        left + 28.0,
        y,
        9.5,
        Weight::Regular,
        "(số điện thoại của chính chủ tài khoản, dùng để nhận mã OTP và mật khẩu đăng nhập)",
    );
    y -= step;
    let email = f
        .email
        .clone()
        .filter(|e| !e.is_empty())
        .unwrap_or_else(|| "(không có)".into());
    y = p.field(left + 14.0, y, size, "5. Email:", &email, right) - step - 6.0;

    p.text(
        left,
        y,
        12.0,
        Weight::Bold,
        "II. THÔNG TIN CÁN BỘ TIẾP NHẬN",
    );
    y -= step;
    for (label, value) in [
        ("1. Cán bộ:", &f.staff_name),
        ("2. Số điện thoại:", &f.staff_phone),
        ("3. Đơn vị:", &f.unit_name),
        ("4. Thời gian tạo:", &f.created_at),
    ] {
        y = p.field(left + 14.0, y, size, label, value, right) - step;
    }
    y -= 6.0;

    p.text(left, y, 12.0, Weight::Bold, "III. XÁC NHẬN CỦA CÔNG DÂN");
    y -= step;
    y = p.paragraph(
        left + 14.0,
        y,
        11.0,
        "Tôi đề nghị được tạo tài khoản trên Cổng Dịch vụ công quốc gia với các thông tin nêu trên. Tôi đã kiểm tra và xác nhận các thông tin trên là đúng; số điện thoại nêu trên do chính tôi sử dụng. Tôi đồng ý nhận mã xác thực (OTP) và mật khẩu đăng nhập qua tin nhắn SMS tới số điện thoại này, và sẽ đổi mật khẩu ở lần đăng nhập đầu tiên.",
        width - 14.0,
    );
    y -= 22.0;

    let col1 = left + width * 0.25;
    let col2 = left + width * 0.75;
    p.centered_in(col1, y, 11.5, Weight::Bold, "CÁN BỘ TIẾP NHẬN");
    p.centered_in(col2, y, 11.5, Weight::Bold, "NGƯỜI ĐỀ NGHỊ");
    y -= 15.0;
    p.centered_in(col1, y, 10.0, Weight::Regular, "(Ký, ghi rõ họ tên)");
    p.centered_in(col2, y, 10.0, Weight::Regular, "(Ký, ghi rõ họ tên)");
    let box_top = y - 8.0;
    let box_h = 78.0;
    p.rect(col1 - 95.0, box_top - box_h, 190.0, box_h, 0.4);
    p.rect(col2 - 95.0, box_top - box_h, 190.0, box_h, 0.4);
    y = box_top - box_h - 18.0;
    p.centered_in(col1, y, 11.0, Weight::Bold, &f.staff_name);
    p.centered_in(col2, y, 11.0, Weight::Bold, &f.full_name);

    p.line(left, 66.0, right, 66.0, 0.4);
    p.paragraph(
        left,
        54.0,
        8.5,
        &format!(
            "In từ hệ thống quản trị Cổng Dịch vụ công lúc {}. Mật khẩu đăng nhập được gửi riêng tới số điện thoại của công dân qua SMS; cán bộ không được biết mật khẩu.",
            f.printed_at
        ),
        width,
    );
    let title = format!("Giấy đề nghị tạo tài khoản - {}", f.full_name);
    write_pdf(&p, &title)
}

fn deflate(data: &[u8]) -> Result<Vec<u8>, PdfError> {
    let mut e = flate2::write::ZlibEncoder::new(Vec::new(), flate2::Compression::best());
    e.write_all(data)?;
    Ok(e.finish()?)
}

/// A PDF text string in UTF-16BE hex.
fn pdf_text(s: &str) -> String {
    let mut out = String::from("<FEFF");
    for u in s.encode_utf16() {
        out.push_str(&format!("{u:04X}"));
    }
    out.push('>');
    out
}

fn write_pdf(p: &Page<'_>, title: &str) -> Result<Vec<u8>, PdfError> {
    // Subset the font to the glyphs used; content streams use the new ids.
    let mut remapper = subsetter::GlyphRemapper::new();
    for gid in p.used.keys() {
        remapper.remap(*gid);
    }
    let sub = subsetter::subset(FONT, 0, &remapper).map_err(|e| PdfError::Font(e.to_string()))?;
    let new_id = |g: u16| remapper.get(g).unwrap_or(0);
    // Rewrite glyph ids in the content: every <hex> Tj string.
    let mut content = String::with_capacity(p.ops.len());
    let mut rest = p.ops.as_str();
    while let Some(start) = rest.find('<') {
        let Some(end) = rest[start..].find('>') else {
            break;
        };
        content.push_str(&rest[..=start]);
        let hex = &rest[start + 1..start + end];
        for i in (0..hex.len()).step_by(4) {
            let g = u16::from_str_radix(hex.get(i..i + 4).unwrap_or("0000"), 16).unwrap_or(0);
            content.push_str(&format!("{:04X}", new_id(g)));
        }
        content.push('>');
        rest = &rest[start + end + 1..];
    }
    content.push_str(rest);

    let scale = 1000.0 / p.upem;
    let mut widths = String::new();
    let mut cmap_entries = vec![];
    for (gid, c) in &p.used {
        let nid = new_id(*gid);
        widths.push_str(&format!(
            "{nid} [{}] ",
            (p.advance(*gid) * scale).round() as i64
        ));
        let mut utf16 = String::new();
        let mut buf = [0u16; 2];
        for u in c.encode_utf16(&mut buf) {
            utf16.push_str(&format!("{u:04X}"));
        }
        cmap_entries.push(format!("<{nid:04X}> <{utf16}>"));
    }
    let mut cmap = String::from(
        "/CIDInit /ProcSet findresource begin\n12 dict begin\nbegincmap\n/CIDSystemInfo << /Registry (Adobe) /Ordering (UCS) /Supplement 0 >> def\n/CMapName /Adobe-Identity-UCS def\n/CMapType 2 def\n1 begincodespacerange\n<0000> <FFFF>\nendcodespacerange\n",
    );
    for chunk in cmap_entries.chunks(100) {
        cmap.push_str(&format!("{} beginbfchar\n", chunk.len()));
        for e in chunk {
            cmap.push_str(e);
            cmap.push('\n');
        }
        cmap.push_str("endbfchar\n");
    }
    cmap.push_str("endcmap\nCMapName currentdict /CIDFont defineresource pop\nend\nend\n");

    let bbox = p.face.global_bounding_box();
    let s = |v: i16| (f32::from(v) * scale).round() as i64;
    let font_name = "MCAAAA+DejaVuSans";

    let content_z = deflate(content.as_bytes())?;
    let cmap_z = deflate(cmap.as_bytes())?;
    let font_z = deflate(&sub)?;

    let mut objects: Vec<Vec<u8>> = vec![];
    let obj = |body: String| body.into_bytes();
    let stream = |dict: String, data: &[u8]| {
        let mut v = format!("<< {dict} /Length {} >>\nstream\n", data.len()).into_bytes();
        v.extend_from_slice(data);
        v.extend_from_slice(b"\nendstream");
        v
    };
    // 1 catalog, 2 pages, 3 page, 4 content, 5 font, 6 cid font,
    // 7 descriptor, 8 tounicode, 9 font file, 10 info
    objects.push(obj("<< /Type /Catalog /Pages 2 0 R >>".into()));
    objects.push(obj("<< /Type /Pages /Kids [3 0 R] /Count 1 >>".into()));
    objects.push(obj(format!(
        "<< /Type /Page /Parent 2 0 R /MediaBox [0 0 {PAGE_W} {PAGE_H}] /Resources << /Font << /F1 5 0 R >> >> /Contents 4 0 R >>"
    )));
    objects.push(stream("/Filter /FlateDecode".into(), &content_z));
    objects.push(obj(format!(
        "<< /Type /Font /Subtype /Type0 /BaseFont /{font_name} /Encoding /Identity-H /DescendantFonts [6 0 R] /ToUnicode 8 0 R >>"
    )));
    objects.push(obj(format!(
        "<< /Type /Font /Subtype /CIDFontType2 /BaseFont /{font_name} /CIDSystemInfo << /Registry (Adobe) /Ordering (Identity) /Supplement 0 >> /FontDescriptor 7 0 R /CIDToGIDMap /Identity /DW 1000 /W [{widths}] >>"
    )));
    objects.push(obj(format!(
        "<< /Type /FontDescriptor /FontName /{font_name} /Flags 32 /FontBBox [{} {} {} {}] /ItalicAngle 0 /Ascent {} /Descent {} /CapHeight {} /StemV 80 /FontFile2 9 0 R >>",
        s(bbox.x_min),
        s(bbox.y_min),
        s(bbox.x_max),
        s(bbox.y_max),
        s(p.face.ascender()),
        s(p.face.descender()),
        s(p.face.capital_height().unwrap_or(p.face.ascender())),
    )));
    objects.push(stream("/Filter /FlateDecode".into(), &cmap_z));
    objects.push(stream(
        format!("/Filter /FlateDecode /Length1 {}", sub.len()),
        &font_z,
    ));
    objects.push(obj(format!(
        "<< /Title {} /Producer (motcua) /Creator (motcua) >>",
        pdf_text(title)
    )));

    let mut out: Vec<u8> = b"%PDF-1.7\n%\xE2\xE3\xCF\xD3\n".to_vec();
    let mut offsets = vec![];
    for (i, body) in objects.iter().enumerate() {
        offsets.push(out.len());
        out.extend_from_slice(format!("{} 0 obj\n", i + 1).as_bytes());
        out.extend_from_slice(body);
        out.extend_from_slice(b"\nendobj\n");
    }
    let xref = out.len();
    out.extend_from_slice(
        format!("xref\n0 {}\n0000000000 65535 f \n", objects.len() + 1).as_bytes(),
    );
    for off in offsets {
        out.extend_from_slice(format!("{off:010} 00000 n \n").as_bytes());
    }
    out.extend_from_slice(
        format!(
            "trailer\n<< /Size {} /Root 1 0 R /Info 10 0 R >>\nstartxref\n{xref}\n%%EOF\n",
            objects.len() + 1
        )
        .as_bytes(),
    );
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn sample() -> RequestForm {
        RequestForm {
            request_code: "AB12CD".into(),
            full_name: "Nguyễn Thị Thuỳ Dương".into(),
            birth_date: "05/03/1990".into(),
            id_kind: "CCCD".into(),
            id_number: "033190001234".into(),
            phone: "0912345678".into(),
            email: None,
            unit_name: "Bộ phận một cửa UBND huyện Văn Lâm".into(),
            staff_name: "Phạm Thị Thúy Hà".into(),
            staff_phone: "0987654321".into(),
            created_at: "26/11/2026 09:15".into(),
            printed_at: "26/11/2026 09:16".into(),
        }
    }

    #[test]
    fn renders_a_small_subset_pdf() {
        let pdf = request_form(&sample()).unwrap();
        assert!(pdf.starts_with(b"%PDF-1.7"));
        assert!(pdf.ends_with(b"%%EOF\n"));
        assert!(pdf.len() < 60_000, "PDF is {} bytes", pdf.len());
    }

    /// Extracts the text with poppler's pdftotext when it is installed.
    #[test]
    fn text_extracts_with_diacritics() {
        if std::process::Command::new("pdftotext")
            .arg("-v")
            .output()
            .is_err()
        {
            eprintln!("pdftotext not installed; skipped");
            return;
        }
        let dir = tempfile::tempdir().unwrap();
        let p = dir.path().join("f.pdf");
        std::fs::write(&p, request_form(&sample()).unwrap()).unwrap();
        let out = std::process::Command::new("pdftotext")
            .args(["-enc", "UTF-8"])
            .arg(&p)
            .arg("-")
            .output()
            .unwrap();
        assert!(
            out.status.success(),
            "{}",
            String::from_utf8_lossy(&out.stderr)
        );
        let text = String::from_utf8(out.stdout).unwrap();
        for needle in [
            "Nguyễn Thị Thuỳ Dương",
            "GIẤY ĐỀ NGHỊ TẠO TÀI KHOẢN",
            "Bộ phận một cửa UBND huyện Văn Lâm",
            "033190001234",
            "Phạm Thị Thúy Hà",
            "Ngày 26 tháng 11 năm 2026",
        ] {
            assert!(text.contains(needle), "{needle:?} not in:\n{text}");
        }
    }
}
