//! The visibility matrix: every status × access × caller, album page and stream.

use time::{Duration, OffsetDateTime};

use crate::*;

const STATUSES: &[&str] = &[
    "draft",
    "submitted",
    "scheduled-future",
    "scheduled-past",
    "published",
];
const ACCESSES: &[&str] = &["public", "unlisted", "code", "event", "paid"];

#[derive(Debug, Clone, Copy, PartialEq)]
enum Who {
    Anonymous,
    AnonymousWithToken,
    Listener,
    ListenerWithToken,
    ListenerWithEntitlement,
    Owner,
    OtherArtist,
}

const CALLERS: &[Who] = &[
    Who::Anonymous,
    Who::AnonymousWithToken,
    Who::Listener,
    Who::ListenerWithToken,
    Who::ListenerWithEntitlement,
    Who::Owner,
    Who::OtherArtist,
];

/// API.md's rule, written out case by case: (album status, stream status, gate).
fn expected(status: &str, access: &str, who: Who) -> (u16, u16) {
    if who == Who::Owner {
        return (200, 200);
    }
    // A scheduled paid release shows its page to be pre-ordered; its audio waits for the
    // publication, also for those entitled to it.
    if status == "scheduled-future" && access == "paid" {
        return (200, 403);
    }
    let published = matches!(status, "published" | "scheduled-past");
    if !published {
        return (404, 404);
    }
    let token = matches!(who, Who::AnonymousWithToken | Who::ListenerWithToken);
    match access {
        "public" => (200, 200),
        "unlisted" if token => (200, 200),
        "unlisted" => (404, 404),
        _ if who == Who::ListenerWithEntitlement => (200, 200),
        _ => (200, 403),
    }
}

#[tokio::test]
async fn every_status_access_and_caller_sees_exactly_what_the_rule_allows() {
    let app = App::new().await;
    let owner = app.account("artist", "owner@example.com").await;
    let other = app.account("artist", "other@example.com").await;
    let listener = app.account("listener", "fan@example.com").await;
    let entitled = app.account("listener", "patron@example.com").await;
    let now = OffsetDateTime::now_utc();

    let mut failures = Vec::new();
    let mut checked = 0;
    for status in STATUSES {
        for access in ACCESSES {
            let (db_status, publish_at) = match *status {
                "scheduled-future" => ("scheduled", Some(now + Duration::days(3))),
                "scheduled-past" => ("scheduled", Some(now - Duration::minutes(1))),
                s => (s, None),
            };
            let (release, share) = app.release(&owner, db_status, access, publish_at).await;
            let track = app.playable_track(release, 1, 180_000, -9.0, -0.5).await;
            app.entitle(&entitled, release).await;
            for who in CALLERS {
                let (bearer, token) = match who {
                    Who::Anonymous => (None, None),
                    Who::AnonymousWithToken => (None, Some(&share)),
                    Who::Listener => (Some(&listener.token), None),
                    Who::ListenerWithToken => (Some(&listener.token), Some(&share)),
                    Who::ListenerWithEntitlement => (Some(&entitled.token), None),
                    Who::Owner => (Some(&owner.token), None),
                    Who::OtherArtist => (Some(&other.token), None),
                };
                let query = token
                    .map(|t| format!("?share_token={t}"))
                    .unwrap_or_default();
                let album = app
                    .get(
                        &format!("/v1/listener/albums/{release}{query}"),
                        bearer.map(String::as_str),
                    )
                    .await;
                let stream = app
                    .get(
                        &format!("/v1/listener/tracks/{track}/stream{query}"),
                        bearer.map(String::as_str),
                    )
                    .await;
                let want = expected(status, access, *who);
                checked += 1;
                if (album.status, stream.status) != want {
                    failures.push(format!(
                        "{status} {access} {who:?}: got ({}, {}), want {want:?}",
                        album.status, stream.status
                    ));
                    continue;
                }
                // The shapes of the answers, not only their statuses.
                match album.status {
                    200 => {
                        assert_eq!(album.body["id"], release.to_string());
                        let gated = stream.status == 403;
                        assert_eq!(album.body["gate"].is_null(), !gated, "{}", album.body);
                        assert_eq!(album.body["tracks"][0]["playable"], !gated);
                    }
                    _ => assert_error(&album, 404, "not_found"),
                }
                match stream.status {
                    200 => assert_eq!(stream.body["renditions"].as_array().unwrap().len(), 3),
                    403 => {
                        assert_error(&stream, 403, "gated");
                        assert_eq!(stream.body["error"]["details"]["gate"], *access);
                    }
                    _ => assert_error(&stream, 404, "not_found"),
                }
            }
        }
    }
    assert_eq!(checked, 5 * 5 * 7);
    assert!(failures.is_empty(), "{}", failures.join("\n"));
    // Home's inlinable predicate agrees with the rule on every status and access.
    let disagree: i64 = app
        .db
        .pool
        .get()
        .await
        .unwrap()
        .query_one(
            "SELECT count(*) FROM releases r
              WHERE release_open_to_all(r) <> (release_reach(r, NULL, NULL) = 'stream')",
            &[],
        )
        .await
        .unwrap()
        .get(0);
    assert_eq!(disagree, 0);
}

#[tokio::test]
async fn ids_that_are_not_uuids_or_do_not_exist_are_404() {
    let app = App::new().await;
    for path in [
        "/v1/listener/albums/not-a-uuid".to_owned(),
        format!("/v1/listener/albums/{}", Uuid::new_v4()),
        "/v1/listener/tracks/42/stream".to_owned(),
        format!("/v1/listener/tracks/{}/stream", Uuid::new_v4()),
    ] {
        assert_error(&app.get(&path, None).await, 404, "not_found");
    }
}

#[tokio::test]
async fn a_share_token_of_another_release_opens_nothing() {
    let app = App::new().await;
    let owner = app.account("artist", "owner@example.com").await;
    let (hidden, _) = app.release(&owner, "published", "unlisted", None).await;
    let (_, other_token) = app.release(&owner, "published", "unlisted", None).await;
    let r = app
        .get(
            &format!("/v1/listener/albums/{hidden}?share_token={other_token}"),
            None,
        )
        .await;
    assert_error(&r, 404, "not_found");
}

#[tokio::test]
async fn a_bad_bearer_token_is_401_even_where_anonymous_is_allowed() {
    let app = App::new().await;
    let owner = app.account("artist", "owner@example.com").await;
    let (release, _) = app.release(&owner, "published", "public", None).await;
    let r = app
        .get(&format!("/v1/listener/albums/{release}"), Some("garbage"))
        .await;
    assert_error(&r, 401, "unauthorized");
}
