//! Smart playlists: rules evaluated on every read, so the list is never stale. Rules are
//! compiled to SQL from a fixed list of fields and operators; every value travels as a bound
//! parameter, never as SQL text. Personal fields (saved, play count, last played, voted) are
//! the reader's own: another listener's saves and plays are not theirs to read.

use postgres_types::ToSql;
use serde::{Deserialize, Serialize};
use serde_json::Value;
use time::Date;

use crate::fields::FieldErrors;
use crate::ids::TrackId;

/// At most this many rules, and this many tracks a smart playlist shows.
pub const MAX_RULES: usize = 20;
pub const MAX_SMART_TRACKS: i64 = 100;
/// `sounds_like` keeps tracks whose cosine similarity to the given track is at least this.
pub const SOUNDS_LIKE_MIN_SIMILARITY: f64 = 0.8;

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, utoipa::ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum Match {
    All,
    Any,
}

/// `{match, rules: [{field, op, value}], sort, limit}`.
#[derive(Debug, Clone, Serialize, Deserialize, utoipa::ToSchema)]
pub struct Rules {
    #[serde(rename = "match")]
    pub matching: Match,
    #[schema(max_items = 20)]
    pub rules: Vec<Rule>,
    /// `title`, `release_date`, `duration`, `play_count` or `last_played`, `-` first for
    /// descending; default `-release_date`.
    #[serde(default)]
    pub sort: Option<String>,
    /// 1–100, default 100.
    #[serde(default)]
    #[schema(minimum = 1, maximum = 100)]
    pub limit: Option<i64>,
}

/// One condition. Fields and their operators: `genre` and `artist` (`is`, `is_not`,
/// `contains`; text); `release_date` (`before`, `after`; `YYYY-MM-DD`); `duration` (`lt`, `gt`;
/// milliseconds); `loudness` (`lt`, `gt`; LUFS); `explicit`, `saved` (`is`; true or false);
/// `play_count` (`lt`, `gt`, `eq`; a count); `last_played` (`within_days`, `not_within_days`;
/// days); `voted` (`is`; 1 or -1); `sounds_like` (`is`; a track id).
#[derive(Debug, Clone, Serialize, Deserialize, utoipa::ToSchema)]
pub struct Rule {
    pub field: String,
    pub op: String,
    #[schema(value_type = Object)]
    pub value: Value,
}

/// A bound value.
#[derive(Debug)]
pub enum Param {
    Text(String),
    Int(i64),
    Float(f64),
    Bool(bool),
    Date(Date),
    Track(TrackId),
}

impl Param {
    pub fn as_sql(&self) -> &(dyn ToSql + Sync) {
        match self {
            Param::Text(v) => v,
            Param::Int(v) => v,
            Param::Float(v) => v,
            Param::Bool(v) => v,
            Param::Date(v) => v,
            Param::Track(v) => v,
        }
    }
}

/// Rules turned into SQL over `t` (tracks), `r` (releases) and `a` (artist_profiles), for the
/// reader bound at `$1`; values bound from `$2` on, in `params` order.
#[derive(Debug)]
pub struct Compiled {
    pub condition: String,
    pub order: &'static str,
    pub limit: i64,
    pub params: Vec<Param>,
}

const PLAY_COUNT: &str = "(SELECT coalesce(sum(pc.plays), 0) FROM play_counts pc
                           WHERE pc.user_id = $1 AND pc.track_id = t.id)";
const LAST_PLAYED: &str = "(SELECT max(pc.day) FROM play_counts pc
                            WHERE pc.user_id = $1 AND pc.track_id = t.id)";

/// Check and compile; every problem is reported under `rules`, each naming the part it is about
/// (`rules[2].op: unknown operator …`).
pub fn compile(rules: &Rules) -> Result<Compiled, FieldErrors> {
    let mut errors: Vec<String> = Vec::new();
    if rules.rules.is_empty() || rules.rules.len() > MAX_RULES {
        errors.push(format!("rules: must hold 1–{MAX_RULES} rules"));
    }
    let limit = rules.limit.unwrap_or(MAX_SMART_TRACKS);
    if !(1..=MAX_SMART_TRACKS).contains(&limit) {
        errors.push(format!("limit: must be 1–{MAX_SMART_TRACKS}"));
    }
    let order = match rules.sort.as_deref().unwrap_or("-release_date") {
        "title" => "t.title, t.id",
        "-title" => "t.title DESC, t.id",
        "release_date" => "r.release_date NULLS LAST, t.id",
        "-release_date" => "r.release_date DESC NULLS LAST, t.id",
        "duration" => "t.duration_ms NULLS LAST, t.id",
        "-duration" => "t.duration_ms DESC NULLS LAST, t.id",
        "play_count" => concat!(
            "(SELECT coalesce(sum(pc.plays), 0) FROM play_counts pc WHERE pc.user_id = $1 AND pc.track_id = t.id)",
            ", t.id"
        ),
        "-play_count" => concat!(
            "(SELECT coalesce(sum(pc.plays), 0) FROM play_counts pc WHERE pc.user_id = $1 AND pc.track_id = t.id)",
            " DESC, t.id"
        ),
        "last_played" => concat!(
            "(SELECT max(pc.day) FROM play_counts pc WHERE pc.user_id = $1 AND pc.track_id = t.id)",
            " NULLS LAST, t.id"
        ),
        "-last_played" => concat!(
            "(SELECT max(pc.day) FROM play_counts pc WHERE pc.user_id = $1 AND pc.track_id = t.id)",
            " DESC NULLS LAST, t.id"
        ),
        other => {
            errors.push(format!("sort: unknown sort `{other}`"));
            ""
        }
    };
    let mut params = Vec::new();
    let mut conditions = Vec::new();
    for (i, rule) in rules.rules.iter().take(MAX_RULES).enumerate() {
        match condition(rule, &mut params) {
            Ok(sql) => conditions.push(sql),
            Err((part, problem)) => errors.push(format!("rules[{i}].{part}: {problem}")),
        }
    }
    if !errors.is_empty() {
        return Err(crate::fields::one("rules", errors.join("; ")));
    }
    let joiner = match rules.matching {
        Match::All => " AND ",
        Match::Any => " OR ",
    };
    Ok(Compiled {
        condition: format!("({})", conditions.join(joiner)),
        order,
        limit,
        params,
    })
}

type Problem = (&'static str, String);

/// The next parameter's placeholder (`$1` is the reader).
fn bind(params: &mut Vec<Param>, value: Param) -> String {
    params.push(value);
    format!("${}", params.len() + 1)
}

fn text(value: &Value) -> Result<String, Problem> {
    match value.as_str() {
        Some(s)
            if !s.trim().is_empty()
                && s.chars().count() <= 200
                && !s.chars().any(char::is_control) =>
        {
            Ok(s.trim().to_owned())
        }
        _ => Err((
            "value",
            "must be text of 1–200 characters, without control characters".into(),
        )),
    }
}

fn number(value: &Value) -> Result<f64, Problem> {
    value
        .as_f64()
        .filter(|n| n.is_finite())
        .ok_or(("value", "must be a number".into()))
}

fn whole(value: &Value) -> Result<i64, Problem> {
    value
        .as_i64()
        .filter(|n| (0..=1_000_000_000).contains(n))
        .ok_or(("value", "must be a whole number 0–1000000000".into()))
}

fn flag(value: &Value) -> Result<bool, Problem> {
    value
        .as_bool()
        .ok_or(("value", "must be true or false".into()))
}

fn condition(rule: &Rule, params: &mut Vec<Param>) -> Result<String, Problem> {
    let op = rule.op.as_str();
    let bad_op = || -> Problem {
        (
            "op",
            format!("unknown operator `{}` for `{}`", rule.op, rule.field),
        )
    };
    let compare = |column: &str, op: &str, placeholder: String| -> Option<String> {
        let sign = match op {
            "lt" | "before" => "<",
            "gt" | "after" => ">",
            "eq" => "=",
            _ => return None,
        };
        Some(format!("{column} {sign} {placeholder}"))
    };
    Ok(match rule.field.as_str() {
        "genre" | "artist" => {
            let column = if rule.field == "genre" {
                "r.genre"
            } else {
                "a.name"
            };
            let value = text(&rule.value)?;
            match op {
                "is" => format!(
                    "lower({column}) = lower({})",
                    bind(params, Param::Text(value))
                ),
                "is_not" => format!(
                    "lower(coalesce({column}, '')) <> lower({})",
                    bind(params, Param::Text(value))
                ),
                "contains" => format!(
                    "strpos(lower(coalesce({column}, '')), lower({})) > 0",
                    bind(params, Param::Text(value))
                ),
                _ => return Err(bad_op()),
            }
        }
        "release_date" => {
            if !matches!(op, "before" | "after") {
                return Err(bad_op());
            }
            let raw = rule.value.as_str().unwrap_or_default();
            let format = time::macros::format_description!("[year]-[month]-[day]");
            let date = Date::parse(raw, &format)
                .map_err(|_| ("value", "must be a date, YYYY-MM-DD".to_owned()))?;
            let placeholder = bind(params, Param::Date(date));
            compare("r.release_date", op, placeholder).ok_or_else(bad_op)?
        }
        "duration" | "loudness" => {
            if !matches!(op, "lt" | "gt") {
                return Err(bad_op());
            }
            let value = number(&rule.value)?;
            let column = if rule.field == "duration" {
                "t.duration_ms::float8"
            } else {
                "t.integrated_lufs::float8"
            };
            let placeholder = bind(params, Param::Float(value));
            compare(column, op, placeholder).ok_or_else(bad_op)?
        }
        "explicit" => {
            if op != "is" {
                return Err(bad_op());
            }
            format!(
                "t.explicit = {}",
                bind(params, Param::Bool(flag(&rule.value)?))
            )
        }
        "saved" => {
            if op != "is" {
                return Err(bad_op());
            }
            format!(
                "EXISTS (SELECT 1 FROM saves s WHERE s.user_id = $1 AND s.track_id = t.id) = {}",
                bind(params, Param::Bool(flag(&rule.value)?))
            )
        }
        "play_count" => {
            if !matches!(op, "lt" | "gt" | "eq") {
                return Err(bad_op());
            }
            let placeholder = bind(params, Param::Int(whole(&rule.value)?));
            compare(PLAY_COUNT, op, placeholder).ok_or_else(bad_op)?
        }
        "last_played" => {
            let days = whole(&rule.value)?;
            if days > 36_500 {
                return Err(("value", "must be 0–36500 days".into()));
            }
            let placeholder = bind(params, Param::Int(days));
            let recent = format!(
                "coalesce({LAST_PLAYED} >= current_date - {placeholder}::int8::int, false)"
            );
            match op {
                "within_days" => recent,
                "not_within_days" => format!("NOT {recent}"),
                _ => return Err(bad_op()),
            }
        }
        "voted" => {
            if op != "is" {
                return Err(bad_op());
            }
            let value = match rule.value.as_i64() {
                Some(v @ (-1 | 1)) => v,
                _ => return Err(("value", "must be 1 or -1".into())),
            };
            format!(
                "EXISTS (SELECT 1 FROM track_votes v
                          WHERE v.user_id = $1 AND v.track_id = t.id AND v.value = {}::int8)",
                bind(params, Param::Int(value))
            )
        }
        "sounds_like" => {
            if op != "is" {
                return Err(bad_op());
            }
            let track: TrackId = rule
                .value
                .as_str()
                .and_then(|s| s.parse().ok())
                .ok_or(("value", "must be a track id".to_owned()))?;
            let placeholder = bind(params, Param::Track(track));
            // On unit vectors, cosine >= s  ⇔  distance <= sqrt(2 - 2s).
            format!(
                "t.taste_point <-> (SELECT x.taste_point FROM tracks x WHERE x.id = {placeholder})
                   <= {}",
                (2.0 - 2.0 * SOUNDS_LIKE_MIN_SIMILARITY).sqrt()
            )
        }
        other => return Err(("field", format!("unknown field `{other}`"))),
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn rules(value: Value) -> Rules {
        serde_json::from_value(value).unwrap()
    }

    #[test]
    fn values_are_bound_never_spliced() {
        let hostile = "x'); DROP TABLE tracks; --";
        let compiled = compile(&rules(json!({
            "match": "any",
            "rules": [
                {"field": "genre", "op": "contains", "value": hostile},
                {"field": "artist", "op": "is", "value": hostile},
                {"field": "duration", "op": "gt", "value": 1000},
            ]
        })))
        .unwrap();
        assert!(
            !compiled.condition.contains("DROP"),
            "{}",
            compiled.condition
        );
        assert_eq!(compiled.params.len(), 3);
        assert!(compiled.condition.contains("$2") && compiled.condition.contains("$4"));
        assert!(compiled.condition.contains(" OR "));
    }

    #[test]
    fn unknown_fields_operators_and_sorts_are_named() {
        let err = compile(&rules(json!({
            "match": "all",
            "rules": [
                {"field": "mood", "op": "is", "value": "happy"},
                {"field": "genre", "op": "regex", "value": ".*"},
                {"field": "release_date", "op": "before", "value": "yesterday"},
            ],
            "sort": "popularity",
            "limit": 500
        })))
        .unwrap_err();
        let problem = &err["rules"];
        assert!(
            problem.contains("rules[0].field: unknown field `mood`"),
            "{problem}"
        );
        assert!(
            problem.contains("rules[1].op: unknown operator `regex`"),
            "{problem}"
        );
        assert!(problem.contains("rules[2].value"), "{problem}");
        assert!(
            problem.contains("sort: unknown sort `popularity`"),
            "{problem}"
        );
        assert!(problem.contains("limit: must be 1–100"), "{problem}");
    }
}
