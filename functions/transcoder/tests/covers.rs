//! Covers through the real handler: square check, minimum size, six sizes in two formats,
//! CMYK colours and Exif orientation kept.

use aws_lambda_events::event::sqs::{SqsBatchResponse, SqsEvent};
use hound_domain::assets::AssetKind;
use hound_testing::{Fixture, ffprobe};
use hound_worker::Worker;

/// The transcoder function's handler, as Lambda calls it (no backoff in tests).
fn transcode(worker: &Worker, event: SqsEvent) -> impl Future<Output = SqsBatchResponse> + '_ {
    transcoder::handle(worker, None, event)
}

#[tokio::test]
async fn a_square_cover_becomes_three_sizes_in_jpeg_and_webp() {
    let fx = Fixture::new().await;
    // 1010×1000 is square within 1 %: cropped to its centre square.
    let png = fx.ffmpeg(
        "cover.png",
        &[
            "-f",
            "lavfi",
            "-i",
            "testsrc2=s=1010x1000",
            "-frames:v",
            "1",
        ],
    );
    let (asset, job_id) = fx.upload(AssetKind::Cover, None, &png, "image/png").await;
    let (_, response) = fx.deliver(transcode).await;
    assert!(response.batch_item_failures.is_empty());
    let job = fx.job(job_id).await;
    assert_eq!(job["status"], "ready", "{job}");
    assert_eq!(job["asset_state"], "ready");
    let names: Vec<&str> = job["steps"]
        .as_array()
        .unwrap()
        .iter()
        .map(|s| s["name"].as_str().unwrap())
        .collect();
    assert_eq!(names, ["probe", "resize", "upload"]);
    for width in [1200, 600, 300] {
        for (format, codec, mime) in [
            ("jpeg", "mjpeg", "image/jpeg"),
            ("webp", "webp", "image/webp"),
        ] {
            let v = &job["variants"][format!("cover_{width}_{format}")];
            assert_eq!(v["status"], "complete", "{v}");
            assert_eq!(v["width_px"], width);
            assert_eq!(v["mime"], mime);
            let file = fx.download(v["key"].as_str().unwrap()).await;
            let stream = &ffprobe(&file)["streams"][0];
            assert_eq!(stream["codec_name"], codec);
            assert_eq!(
                (stream["width"].as_i64(), stream["height"].as_i64()),
                (Some(width), Some(width))
            );
        }
    }
    let client = fx.db.pool.get().await.unwrap();
    let cover: hound_domain::ids::AssetId = client
        .query_one(
            "SELECT cover_asset_id FROM releases WHERE id = $1",
            &[&fx.release_id],
        )
        .await
        .unwrap()
        .get(0);
    assert_eq!(cover, asset);
}

#[tokio::test]
async fn bad_covers_fail_with_their_codes() {
    let fx = Fixture::new().await;
    let cases = [
        (
            fx.ffmpeg(
                "wide.jpg",
                &[
                    "-f",
                    "lavfi",
                    "-i",
                    "testsrc2=s=1600x1000",
                    "-frames:v",
                    "1",
                ],
            ),
            "image/jpeg",
            "cover_not_square",
        ),
        (
            fx.ffmpeg(
                "small.jpg",
                &["-f", "lavfi", "-i", "testsrc2=s=800x800", "-frames:v", "1"],
            ),
            "image/jpeg",
            "cover_too_small",
        ),
        (
            fx.music("song.wav", 2, &["-c:a", "pcm_s16le"]),
            "image/png",
            "not_image",
        ),
        // A decompression bomb in miniature: small on disk (one flat colour), 6400² decoded.
        (
            fx.ffmpeg(
                "huge.png",
                &[
                    "-f",
                    "lavfi",
                    "-i",
                    "color=c=gray:s=6400x6400",
                    "-frames:v",
                    "1",
                    "-pix_fmt",
                    "gray",
                ],
            ),
            "image/png",
            "cover_too_large",
        ),
    ];
    for (path, content_type, code) in cases {
        let (_, job_id) = fx.upload(AssetKind::Cover, None, &path, content_type).await;
        let (_, response) = fx.deliver(transcode).await;
        assert!(response.batch_item_failures.is_empty());
        let job = fx.job(job_id).await;
        assert_eq!(job["status"], "failed", "{job}");
        assert_eq!(job["error_code"], code, "{}", path.display());
        assert_eq!(job["steps"][0]["state"], "failed");
    }
    assert!(fx.stream_keys().await.is_empty());
}

/// A 1200² picture whose left half is red and right half blue, as JPEG bytes in `color`.
fn halves(color: jpeg_encoder::ColorType, orientation: Option<u8>) -> Vec<u8> {
    const SIDE: u16 = 1200;
    let (red, blue): (&[u8], &[u8]) = match color {
        jpeg_encoder::ColorType::Rgb => (&[255, 0, 0], &[0, 0, 255]),
        // Ink amounts (the encoder writes them inverted, as Adobe's CMYK JPEGs do).
        jpeg_encoder::ColorType::Cmyk => (&[0, 255, 255, 0], &[255, 255, 0, 0]),
        other => panic!("{other:?}"),
    };
    let mut pixels = Vec::new();
    for _ in 0..SIDE {
        for x in 0..SIDE {
            pixels.extend_from_slice(if x < SIDE / 2 { red } else { blue });
        }
    }
    let mut out = Vec::new();
    let mut encoder = jpeg_encoder::Encoder::new(&mut out, 90);
    if let Some(value) = orientation {
        // An Exif APP1 segment: big-endian TIFF header, one IFD with one SHORT entry
        // (0x0112 Orientation), no next IFD.
        let mut exif = b"Exif\0\0MM\0\x2a\0\0\0\x08\0\x01\x01\x12\0\x03\0\0\0\x01\0".to_vec();
        exif.extend_from_slice(&[value, 0, 0, 0, 0, 0, 0]);
        encoder.add_app_segment(1, &exif).unwrap();
    }
    encoder.encode(&pixels, SIDE, SIDE, color).unwrap();
    out
}

/// The RGB colour at (x, y) of a picture, decoded by ffmpeg.
fn pixel(file: &std::path::Path, x: usize, y: usize) -> [u8; 3] {
    let out = std::process::Command::new("ffmpeg")
        .args(["-v", "error", "-i"])
        .arg(file)
        .args(["-f", "rawvideo", "-pix_fmt", "rgb24", "-"])
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let width = (out.stdout.len() / 3).isqrt();
    let at = (y * width + x) * 3;
    [out.stdout[at], out.stdout[at + 1], out.stdout[at + 2]]
}

/// Which of red or blue a colour is clearly, if either.
fn hue(rgb: [u8; 3]) -> &'static str {
    let [r, g, b] = rgb.map(i32::from);
    if r > 180 && g < 80 && b < 80 {
        "red"
    } else if b > 180 && r < 80 && g < 80 {
        "blue"
    } else {
        "neither"
    }
}

/// Upload `bytes` as a cover, run the worker, and say the colours of the 300 px JPEG's
/// top-left, top-right and bottom-left corners.
async fn cover_colours(fx: &Fixture, name: &str, bytes: &[u8]) -> [&'static str; 3] {
    let path = fx.dir.path().join(name);
    std::fs::write(&path, bytes).unwrap();
    let (_, job_id) = fx.upload(AssetKind::Cover, None, &path, "image/jpeg").await;
    let (_, response) = fx.deliver(transcode).await;
    assert!(response.batch_item_failures.is_empty());
    let job = fx.job(job_id).await;
    assert_eq!(job["status"], "ready", "{job}");
    let v = &job["variants"]["cover_300_jpeg"];
    let file = fx.download(v["key"].as_str().unwrap()).await;
    [(20, 20), (280, 20), (20, 280)].map(|(x, y)| hue(pixel(&file, x, y)))
}

#[tokio::test]
async fn a_cmyk_cover_keeps_its_colours() {
    let fx = Fixture::new().await;
    let rgb = cover_colours(&fx, "rgb.jpg", &halves(jpeg_encoder::ColorType::Rgb, None)).await;
    assert_eq!(rgb, ["red", "blue", "red"]);
    let cmyk = cover_colours(
        &fx,
        "cmyk.jpg",
        &halves(jpeg_encoder::ColorType::Cmyk, None),
    )
    .await;
    assert_eq!(cmyk, rgb);
    assert!(fx.scratch_left().is_empty());
}

#[tokio::test]
async fn an_exif_rotated_cover_is_shown_upright() {
    let fx = Fixture::new().await;
    // Orientation 6: the camera was turned a quarter clockwise; viewers rotate the stored
    // pixels 90° clockwise, so the stored left half is shown on top.
    let turned = halves(jpeg_encoder::ColorType::Rgb, Some(6));
    assert_eq!(
        cover_colours(&fx, "turned.jpg", &turned).await,
        ["red", "red", "blue"]
    );
    // Orientation 3: upside down, so the stored left half is shown on the right.
    let upside = halves(jpeg_encoder::ColorType::Rgb, Some(3));
    assert_eq!(
        cover_colours(&fx, "upside.jpg", &upside).await,
        ["blue", "red", "blue"]
    );
    assert!(fx.scratch_left().is_empty());
}
