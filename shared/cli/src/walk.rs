//! `hound demo` (`make demo`): the whole story over HTTP against a running API, the way client
//! apps meet it, printing each step and stopping (non-zero) at the first one that misbehaves.
//! The end-to-end test runs the same walk against `cargo lambda watch` and the local poller.

use std::path::Path;
use std::process::Command;

use crate::demo::ffmpeg;
use std::time::{Duration, Instant};

use anyhow::{Context as _, anyhow, bail, ensure};
use reqwest::{Method, StatusCode};
use serde_json::{Value, json};

const PASSWORD: &str = "demo-walk-correct-horse";

struct Api {
    http: reqwest::Client,
    base: String,
}

impl Api {
    async fn call(
        &self,
        method: Method,
        path: &str,
        token: Option<&str>,
        body: Option<Value>,
    ) -> anyhow::Result<(StatusCode, Value)> {
        let mut request = self
            .http
            .request(method.clone(), format!("{}{path}", self.base));
        if let Some(token) = token {
            request = request.bearer_auth(token);
        }
        if let Some(body) = body {
            request = request.json(&body);
        }
        let response = request
            .send()
            .await
            .with_context(|| format!("{method} {path}: no answer from {}", self.base))?;
        let status = response.status();
        let text = response.text().await.unwrap_or_default();
        let json = if text.is_empty() {
            Value::Null
        } else {
            serde_json::from_str(&text).unwrap_or(Value::String(text))
        };
        Ok((status, json))
    }

    /// A call that must answer one of `expected`.
    async fn expect(
        &self,
        method: Method,
        path: &str,
        token: Option<&str>,
        body: Option<Value>,
        expected: &[u16],
    ) -> anyhow::Result<Value> {
        let (status, json) = self.call(method.clone(), path, token, body).await?;
        ensure!(
            expected.contains(&status.as_u16()),
            "{method} {path} answered {status}, expected {expected:?}: {json}"
        );
        Ok(json)
    }
}

fn step(text: impl std::fmt::Display) {
    println!("  ✓ {text}");
}

fn str_at<'a>(v: &'a Value, pointer: &str) -> anyhow::Result<&'a str> {
    v.pointer(pointer)
        .and_then(Value::as_str)
        .ok_or_else(|| anyhow!("no {pointer} in {v}"))
}

/// Intent, PUT to the presigned URL with the signed headers, complete: the job id.
async fn upload(
    api: &Api,
    token: &str,
    intent_path: &str,
    mut intent: Value,
    file: &Path,
    content_type: &str,
) -> anyhow::Result<String> {
    let bytes = std::fs::read(file)?;
    intent["content_type"] = content_type.into();
    intent["size_bytes"] = bytes.len().into();
    intent["filename"] = file
        .file_name()
        .map(|n| n.to_string_lossy().into_owned())
        .unwrap_or_default()
        .into();
    let intent = api
        .expect(Method::POST, intent_path, Some(token), Some(intent), &[201])
        .await?;
    let mut put = api.http.put(str_at(&intent, "/upload/url")?);
    for (name, value) in intent["upload"]["headers"]
        .as_object()
        .ok_or_else(|| anyhow!("no upload headers"))?
    {
        put = put.header(name, value.as_str().unwrap_or_default());
    }
    let response = put
        .body(bytes)
        .send()
        .await
        .context("PUT to the upload URL")?;
    ensure!(
        response.status().is_success(),
        "the presigned PUT answered {}",
        response.status()
    );
    let asset = str_at(&intent, "/asset_id")?;
    // 202 when this call created the job; 200 when the bucket's notification got there first.
    let done = api
        .expect(
            Method::POST,
            &format!("/v1/studio/uploads/{asset}/complete"),
            Some(token),
            None,
            &[200, 202],
        )
        .await?;
    Ok(str_at(&done, "/job/id")?.to_owned())
}

pub async fn run(base: &str, timeout: Duration) -> anyhow::Result<()> {
    let api = Api {
        http: reqwest::Client::builder()
            .timeout(Duration::from_secs(120))
            .build()?,
        base: base.trim_end_matches('/').to_owned(),
    };
    let run = uuid::Uuid::new_v4().simple().to_string();
    let dir = tempfile::tempdir()?;
    println!("demo walk against {}", api.base);

    // The artist.
    let signup = api
        .expect(
            Method::POST,
            "/v1/auth/artist/signup",
            None,
            Some(json!({
                "email": format!("demo-artist-{run}@example.com"),
                "password": PASSWORD,
                "display_name": format!("Walk Artist {}", &run[..6]),
            })),
            &[201],
        )
        .await?;
    let artist = str_at(&signup, "/session/access_token")?.to_owned();
    step("artist signed up");
    let release = api
        .expect(
            Method::POST,
            "/v1/studio/releases",
            Some(&artist),
            Some(json!({"title": format!("Walk {}", &run[..6]), "kind": "ep", "genre": "Demo"})),
            &[201],
        )
        .await?;
    let release_id = str_at(&release, "/id")?.to_owned();
    step(format!("release {release_id} created"));
    let mut tracks = Vec::new();
    for title in ["First Steps", "Second Wind"] {
        let track = api
            .expect(
                Method::POST,
                &format!("/v1/studio/releases/{release_id}/tracks"),
                Some(&artist),
                Some(json!({"title": title})),
                &[201],
            )
            .await?;
        tracks.push(str_at(&track, "/id")?.to_owned());
    }
    step("two tracks added");

    let mut jobs = Vec::new();
    for (i, track) in tracks.iter().enumerate() {
        let master = dir.path().join(format!("master-{i}.wav"));
        let source = format!("sine=f={}:r=44100:d=8", 220 + 110 * i);
        ffmpeg(
            &[
                "-f",
                "lavfi",
                "-i",
                &source,
                "-ac",
                "2",
                "-c:a",
                "pcm_s16le",
            ],
            &master,
        )?;
        let job = upload(
            &api,
            &artist,
            &format!("/v1/studio/releases/{release_id}/uploads/master-intent"),
            json!({"track_id": track}),
            &master,
            "audio/wav",
        )
        .await?;
        jobs.push(job);
    }
    let cover = dir.path().join("cover.jpg");
    ffmpeg(
        &[
            "-f",
            "lavfi",
            "-i",
            "mandelbrot=s=1200x1200",
            "-frames:v",
            "1",
        ],
        &cover,
    )?;
    jobs.push(
        upload(
            &api,
            &artist,
            &format!("/v1/studio/releases/{release_id}/uploads/cover-intent"),
            json!({}),
            &cover,
            "image/jpeg",
        )
        .await?,
    );
    step("two masters and a cover uploaded through presigned URLs and completed");

    let started = Instant::now();
    loop {
        let mut line = Vec::new();
        let mut ready = 0;
        for job in &jobs {
            let j = api
                .expect(
                    Method::GET,
                    &format!("/v1/studio/jobs/{job}"),
                    Some(&artist),
                    None,
                    &[200],
                )
                .await?;
            let status = str_at(&j, "/status")?;
            if status == "failed" {
                bail!("job {job} failed: {}", j["error"]);
            }
            ready += usize::from(status == "ready");
            line.push(format!("{status} {}%", j["progress"]));
        }
        print!("\r    jobs: {}   ", line.join(" · "));
        if ready == jobs.len() {
            println!();
            break;
        }
        if started.elapsed() > timeout {
            println!();
            bail!("the jobs were not ready after {timeout:?} (is the worker running?)");
        }
        tokio::time::sleep(Duration::from_millis(500)).await;
    }
    step(format!(
        "transcoded in {:.1} s",
        started.elapsed().as_secs_f64()
    ));
    api.expect(
        Method::POST,
        &format!("/v1/studio/releases/{release_id}/submit"),
        Some(&artist),
        None,
        &[200],
    )
    .await?;
    let published = api
        .expect(
            Method::POST,
            &format!("/v1/studio/releases/{release_id}/publish"),
            Some(&artist),
            Some(json!({})),
            &[200],
        )
        .await?;
    ensure!(published["status"] == "published", "publish: {published}");
    step("submitted and published");

    // The listener.
    let signup = api
        .expect(
            Method::POST,
            "/v1/auth/listener/signup",
            None,
            Some(json!({
                "email": format!("demo-listener-{run}@example.com"),
                "password": PASSWORD,
                "display_name": "Walk Listener",
            })),
            &[201],
        )
        .await?;
    let listener = str_at(&signup, "/session/access_token")?.to_owned();
    step("listener signed up");
    let home = api
        .expect(
            Method::GET,
            "/v1/listener/home",
            Some(&listener),
            None,
            &[200],
        )
        .await?;
    let on_home = home["new_releases"]
        .as_array()
        .is_some_and(|cards| cards.iter().any(|c| c["id"] == release_id.as_str()));
    ensure!(on_home, "the new release is not on home: {home}");
    step("home lists the release among new releases");
    let album = api
        .expect(
            Method::GET,
            &format!("/v1/listener/albums/{release_id}"),
            Some(&listener),
            None,
            &[200],
        )
        .await?;
    let listed = album["tracks"].as_array().map_or(0, Vec::len);
    ensure!(listed == 2, "the album shows {listed} tracks: {album}");
    step("album opened: two tracks, with durations and loudness");
    let stream = api
        .expect(
            Method::GET,
            &format!("/v1/listener/tracks/{}/stream", tracks[0]),
            Some(&listener),
            None,
            &[200],
        )
        .await?;
    let url = stream["renditions"]
        .as_array()
        .and_then(|r| r.first())
        .and_then(|r| r["url"].as_str())
        .ok_or_else(|| anyhow!("no rendition URL: {stream}"))?;
    let bytes = api
        .http
        .get(url)
        .send()
        .await?
        .error_for_status()?
        .bytes()
        .await?;
    let file = dir.path().join("stream.bin");
    std::fs::write(&file, &bytes)?;
    let probe = Command::new("ffprobe")
        .args([
            "-v",
            "error",
            "-show_entries",
            "stream=codec_type",
            "-of",
            "csv=p=0",
        ])
        .arg(&file)
        .output()
        .context("running ffprobe")?;
    ensure!(
        String::from_utf8_lossy(&probe.stdout).trim() == "audio",
        "the streamed bytes are not audio ({} bytes)",
        bytes.len()
    );
    step(format!("streamed {} bytes of audio", bytes.len()));
    let play = json!({"plays": [{
        "id": uuid::Uuid::new_v4(),
        "track_id": tracks[0],
        "started_at": time::OffsetDateTime::now_utc()
            .format(&time::format_description::well_known::Rfc3339)?,
        "ms_played": 5000,
        "completed": false,
        "source": "album",
    }]});
    let plays = api
        .expect(
            Method::POST,
            "/v1/listener/telemetry/plays",
            Some(&listener),
            Some(play),
            &[202],
        )
        .await?;
    ensure!(plays["accepted"] == 1, "plays: {plays}");
    step("a play posted");
    let saved = api
        .expect(
            Method::POST,
            &format!("/v1/listener/tracks/{}/save", tracks[0]),
            Some(&listener),
            None,
            &[200],
        )
        .await?;
    ensure!(saved["saved"] == true, "save: {saved}");
    let library = api
        .expect(
            Method::GET,
            "/v1/listener/library/tracks",
            Some(&listener),
            None,
            &[200],
        )
        .await?;
    let in_library = library["items"].as_array().is_some_and(|items| {
        items
            .iter()
            .any(|i| i["id"] == tracks[0].as_str() || i["track"]["id"] == tracks[0].as_str())
    });
    ensure!(
        in_library,
        "the saved track is not in the library: {library}"
    );
    step("track saved and in the library");
    println!("demo walk: every step behaved");
    Ok(())
}
