//! Covers through the real handler: square check, minimum size, six sizes in two formats.

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
