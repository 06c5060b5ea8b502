//! Rotating a release's share token (the studio's gate for `unlisted` releases): the old link
//! stops opening the release, the new one opens it. Here because this crate drives the studio
//! and the listener side by side.

use hound_testing::Call;
use uuid::Uuid;

use crate::*;

#[tokio::test]
async fn a_rotated_share_token_invalidates_the_old_link() {
    let app = App::new().await;
    let artist = app.account("artist", "band@example.com").await;
    let other = app.account("artist", "other@example.com").await;
    let fan = app.account("listener", "fan@example.com").await;
    let release = Uuid::new_v4();
    app.execute(
        "INSERT INTO releases (id, artist_id, title, kind, status, access, share_token,
                               published_at)
         SELECT $1::uuid, ap.id, 'Unlisted', 'album', 'published', 'unlisted', 'old-token', now()
           FROM artist_profiles ap WHERE ap.user_id = $2",
        &[&release, &artist.user_id],
    )
    .await;
    let album = |token: String| {
        let fan = &fan;
        let app = &app;
        async move {
            Call::get(&format!(
                "/v1/listener/albums/{release}?share_token={token}"
            ))
            .bearer(&fan.token)
            .send(&app.listener)
            .await
            .status
        }
    };
    assert_eq!(album("old-token".into()).await, 200);

    let path = format!("/v1/studio/releases/{release}/share-token");
    let refused = Call::post(&path)
        .bearer(&other.token)
        .send(&app.studio)
        .await;
    assert_error(&refused, 404, "not_found");
    assert_eq!(
        album("old-token".into()).await,
        200,
        "another artist changed nothing"
    );

    let r = Call::post(&path)
        .bearer(&artist.token)
        .send(&app.studio)
        .await;
    assert_eq!(r.status, 200, "{}", r.body);
    let new = r.body["share_token"].as_str().unwrap().to_owned();
    assert!(new.len() >= 20 && new != "old-token");
    assert_eq!(album("old-token".into()).await, 404);
    assert_eq!(album(new.clone()).await, 200);

    // The studio's release view shows the new token too.
    let view = Call::get(&format!("/v1/studio/releases/{release}"))
        .bearer(&artist.token)
        .send(&app.studio)
        .await;
    assert_eq!(view.body["share_token"], new.as_str());
}
