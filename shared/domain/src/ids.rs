//! Typed identifiers. Each wraps a UUID with a private field, so a release id cannot be passed
//! where a track id is expected; they read and write as plain `uuid` columns and JSON strings.

use std::fmt;
use std::str::FromStr;

use postgres_types::{FromSql, ToSql};
use serde::{Deserialize, Serialize};
use uuid::Uuid;

macro_rules! typed_id {
    ($($(#[$doc:meta])* $name:ident;)*) => {$(
        $(#[$doc])*
        #[derive(
            Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize,
            ToSql, FromSql, utoipa::ToSchema,
        )]
        #[serde(transparent)]
        #[postgres(transparent)]
        pub struct $name(Uuid);

        impl $name {
            /// A new, time-ordered id (UUIDv7).
            pub fn generate() -> Self {
                Self(Uuid::now_v7())
            }

            /// An id read from elsewhere (a path, a message, a test).
            pub fn from_uuid(id: Uuid) -> Self {
                Self(id)
            }

            pub fn as_uuid(&self) -> &Uuid {
                &self.0
            }
        }

        impl fmt::Display for $name {
            fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                self.0.fmt(f)
            }
        }

        impl FromStr for $name {
            type Err = uuid::Error;

            fn from_str(s: &str) -> Result<Self, Self::Err> {
                s.parse().map(Self)
            }
        }
    )*};
}

typed_id! {
    /// An account (`users.id`).
    UserId;
    /// A login session (`auth_sessions.id`), the `sid` of access tokens.
    SessionId;
    /// An artist profile (`artist_profiles.id`): the studio's unit of ownership.
    ArtistId;
    /// A release (`releases.id`).
    ReleaseId;
    /// A track (`tracks.id`).
    TrackId;
    /// An uploaded file (`assets.id`).
    AssetId;
    /// A transcode job (`transcode_jobs.id`).
    JobId;
    /// A dead-lettered message's record (`failed_jobs.id`).
    FailedJobId;
    /// A listener's playlist (`playlists.id`).
    PlaylistId;
    /// A listener's mix (`mixes.id`).
    MixId;
    /// A batch of access codes (`code_batches.id`).
    BatchId;
    /// An artist's event (`events.id`), where listeners check in.
    EventId;
}

impl JobId {
    /// The job of an asset is derived from it, so a job is named before it exists: a message
    /// sent just before a failed commit still names the job a retried `complete` creates.
    pub fn for_asset(asset: AssetId) -> Self {
        Self(Uuid::new_v5(&asset.0, b"transcode-job"))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ids_round_trip_as_plain_uuid_text_and_json() {
        let id = ReleaseId::generate();
        assert_eq!(id.to_string().parse::<ReleaseId>().unwrap(), id);
        let json = serde_json::to_string(&id).unwrap();
        assert_eq!(json, format!("\"{id}\""));
        assert!("not-a-uuid".parse::<TrackId>().is_err());
    }

    #[test]
    fn a_job_id_is_a_function_of_its_asset() {
        let asset = AssetId::generate();
        assert_eq!(JobId::for_asset(asset), JobId::for_asset(asset));
        assert_ne!(
            JobId::for_asset(asset),
            JobId::for_asset(AssetId::generate())
        );
    }
}
