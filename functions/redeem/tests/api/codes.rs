//! Issuing, listing and revoking codes in the studio.

use hound_testing::Call;
use serde_json::json;

use crate::*;

#[tokio::test]
async fn codes_are_shown_once_and_kept_only_as_keyed_hashes() {
    let app = App::new().await;
    let artist = app.account("artist", "band@example.com").await;
    let release = app.gated_release(&artist).await;
    let (batch, codes) = app
        .issue(
            &artist,
            release,
            json!({"count": 25, "max_uses": 3, "note": "merch table"}),
        )
        .await;

    assert_eq!(codes.len(), 25);
    let unique: std::collections::HashSet<_> = codes.iter().collect();
    assert_eq!(unique.len(), 25, "codes are distinct");
    for code in &codes {
        assert_eq!(code.len(), 9, "{code}");
        assert_eq!(&code[4..5], "-");
        assert!(
            code.chars()
                .all(|c| c == '-' || hound_domain::gates::CODE_ALPHABET.contains(&(c as u8))),
            "{code} uses only unambiguous characters"
        );
    }
    assert_eq!(batch["issued"], 25);
    assert_eq!(batch["max_uses"], 3);
    assert_eq!(batch["used"], 0);
    assert_eq!(batch["grants"], "release");

    // Stored: 25 hashes of 32 bytes, none of which is a code's text.
    assert_eq!(
        app.count("SELECT count(*) FROM access_codes WHERE octet_length(code_hash) = 32")
            .await,
        25
    );
    for code in &codes {
        let client = app.db.pool.get().await.unwrap();
        let found: i64 = client
            .query_one(
                "SELECT count(*) FROM access_codes
                  WHERE position(convert_to($1, 'UTF8') IN code_hash) > 0
                     OR position(convert_to(replace($1, '-', ''), 'UTF8') IN code_hash) > 0",
                &[code],
            )
            .await
            .unwrap()
            .get(0);
        assert_eq!(found, 0, "{code} is not stored in clear");
    }

    // The list shows the batch and its counts, never a code.
    let list = Call::get(&format!("/v1/studio/releases/{release}/codes"))
        .bearer(&artist.token)
        .send(&app.studio)
        .await;
    assert_eq!(list.status, 200, "{}", list.body);
    assert_eq!(list.body["items"].as_array().unwrap().len(), 1);
    assert_eq!(list.body["items"][0]["id"], batch["id"]);
    assert_eq!(list.body["items"][0]["note"], "merch table");
    let text = list.body.to_string();
    for code in &codes {
        assert!(!text.contains(code.as_str()) && !text.contains(&code.replace('-', "")));
    }

    // Redemptions show in the counts.
    let fan = app.account("listener", "fan@example.com").await;
    assert_eq!(app.redeem(&fan, &codes[0]).await.status, 200);
    let list = Call::get(&format!("/v1/studio/releases/{release}/codes"))
        .bearer(&artist.token)
        .send(&app.studio)
        .await;
    assert_eq!(list.body["items"][0]["used"], 1);
}

#[tokio::test]
async fn codes_come_as_csv_when_asked_for() {
    let app = App::new().await;
    let artist = app.account("artist", "band@example.com").await;
    let release = app.gated_release(&artist).await;
    let r = Call::post(&format!("/v1/studio/releases/{release}/codes"))
        .bearer(&artist.token)
        .header("accept", "text/csv")
        .json(&json!({"count": 3}))
        .send(&app.studio)
        .await;
    assert_eq!(r.status, 201);
    assert!(
        r.headers["content-type"]
            .to_str()
            .unwrap()
            .starts_with("text/csv")
    );
    assert!(
        r.headers["content-disposition"]
            .to_str()
            .unwrap()
            .contains("attachment")
    );
    let text = r.body.as_str().unwrap();
    let lines: Vec<&str> = text.lines().collect();
    assert_eq!(lines[0], "code,batch_id,release_id,max_uses,expires_at");
    assert_eq!(lines.len(), 4, "{text}");
    let code = lines[1].split(',').next().unwrap();
    assert!(lines[1].contains(&release.to_string()));
    // A code from the sheet redeems.
    let fan = app.account("listener", "fan@example.com").await;
    assert_eq!(app.redeem(&fan, code).await.status, 200);
}

#[tokio::test]
async fn only_the_releases_artist_issues_lists_or_revokes_its_codes() {
    let app = App::new().await;
    let artist = app.account("artist", "band@example.com").await;
    let other = app.account("artist", "other@example.com").await;
    let fan = app.account("listener", "fan@example.com").await;
    let release = app.gated_release(&artist).await;
    let (batch, _) = app.issue(&artist, release, json!({"count": 2})).await;
    let batch_id = batch["id"].as_str().unwrap();

    let issue = |token: &str| {
        Call::post(&format!("/v1/studio/releases/{release}/codes"))
            .bearer(token)
            .json(&json!({"count": 1}))
    };
    assert_error(
        &issue(&other.token).send(&app.studio).await,
        404,
        "not_found",
    );
    assert_error(
        &issue(&fan.token).send(&app.studio).await,
        403,
        "role_required",
    );
    let list = Call::get(&format!("/v1/studio/releases/{release}/codes"))
        .bearer(&other.token)
        .send(&app.studio)
        .await;
    assert_error(&list, 404, "not_found");
    let revoke = Call::new(
        "DELETE",
        &format!("/v1/studio/releases/{release}/codes/{batch_id}"),
    )
    .bearer(&other.token)
    .send(&app.studio)
    .await;
    assert_error(&revoke, 404, "not_found");
    assert_eq!(
        app.count("SELECT count(*) FROM code_batches WHERE revoked_at IS NULL")
            .await,
        1,
        "the other artist changed nothing"
    );
    assert_eq!(app.count("SELECT count(*) FROM access_codes").await, 2);
}

#[tokio::test]
async fn bad_batches_are_refused_field_by_field() {
    let app = App::new().await;
    let artist = app.account("artist", "band@example.com").await;
    let release = app.gated_release(&artist).await;
    let long_note = "n".repeat(201);
    for (body, field) in [
        (json!({"count": 0}), "count"),
        (json!({"count": 1001}), "count"),
        (json!({"count": 5, "max_uses": 0}), "max_uses"),
        (
            json!({"count": 5, "expires_at": "2020-01-01T00:00:00Z"}),
            "expires_at",
        ),
        (json!({"count": 5, "note": long_note}), "note"),
    ] {
        let r = Call::post(&format!("/v1/studio/releases/{release}/codes"))
            .bearer(&artist.token)
            .json(&body)
            .send(&app.studio)
            .await;
        assert_error(&r, 400, "invalid_request");
        assert!(
            r.body["error"]["details"]["fields"][field].is_string(),
            "{field}: {}",
            r.body
        );
    }
    assert_eq!(app.count("SELECT count(*) FROM code_batches").await, 0);
}

#[tokio::test]
async fn a_revoked_batch_stops_redeeming_but_keeps_what_it_granted() {
    let app = App::new().await;
    let artist = app.account("artist", "band@example.com").await;
    let early = app.account("listener", "early@example.com").await;
    let late = app.account("listener", "late@example.com").await;
    let release = app.gated_release(&artist).await;
    let (batch, codes) = app.issue(&artist, release, json!({"count": 2})).await;
    assert_eq!(app.redeem(&early, &codes[0]).await.status, 200);

    let path = format!(
        "/v1/studio/releases/{release}/codes/{}",
        batch["id"].as_str().unwrap()
    );
    for _ in 0..2 {
        let r = Call::new("DELETE", &path)
            .bearer(&artist.token)
            .send(&app.studio)
            .await;
        assert_eq!(r.status, 204, "revoking is idempotent: {}", r.body);
    }
    assert_error(&app.redeem(&late, &codes[1]).await, 404, "not_found");
    assert_eq!(
        app.gate_seen_by(&early, release).await,
        serde_json::Value::Null
    );
    assert_eq!(app.gate_seen_by(&late, release).await, "code");
    let list = Call::get(&format!("/v1/studio/releases/{release}/codes"))
        .bearer(&artist.token)
        .send(&app.studio)
        .await;
    assert!(list.body["items"][0]["revoked_at"].is_string());
}
