//! Gates (API.md, Gates): access codes an artist issues and a listener redeems, events a
//! listener checks in at, and the entitlements either grants. Each refusal that is a guess
//! counts toward the caller's failure budget at that gate (`throttle`). Decisions: README,
//! "Gates: decisions".

mod checkin;
mod codes;
mod error;
mod events;
mod keys;
mod redeem;
mod throttle;

pub use checkin::{CheckedIn, Checkin, CheckinRequest, check_in, distance_m};
pub use codes::{
    Batch, Batches, CODE_ALPHABET, CODE_LEN, IssuedCodes, MAX_CODE_CREDITS, MAX_CODES_PER_BATCH,
    NewCodes, generate_code, issue_codes, issue_credit_codes, list_batches, normalise_code,
    revoke_batch,
};
pub use error::{GateError, Outcome};
pub use events::{
    CheckinToken, DEFAULT_RADIUS_M, Event, NewEvent, TOKEN_STEP_SECS, create_event, current_token,
    token_at, token_matches,
};
pub use keys::{CodeKeys, EventKeys, generate_ring_json};
pub use redeem::{Grant, RedeemRequest, Redeemed, redeem};
pub use throttle::{GATE_FAILURE_LIMIT, GATE_WINDOW_MINUTES, Gate, prune_gate_failures};
