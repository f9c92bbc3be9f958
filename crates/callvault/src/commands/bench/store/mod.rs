//! `callvault bench store`: the inbox and transcript search at scale, on each backend. An
//! installation is generated and written through the backend's bulk path; each case is asked
//! through the store many times (p50, p99) and beside it the same question in hand-written SQL
//! with the best index (the floor). The last line is `worst inbox p99 <N> ms`.

mod data;
mod floor;

use std::sync::Arc;
use std::time::{Duration, Instant};

use anyhow::Context;
use callvault_core::conversation::Channel;
use callvault_core::permissions::ContactScope;
use callvault_core::phone::Region;
use callvault_store::copy::Tables;
use callvault_store::{
    ConversationCursor, ConversationQuery, DatabaseOptions, SearchQuery, SearchText, Store,
    redact_url,
};
use callvault_store_postgres::PostgresStore;
use callvault_store_sqlite::SqliteStore;
use data::{COMMON_PHRASE, RARE_PHRASE, Samples, Sizes};
use floor::Floor;

#[derive(Debug, Clone, clap::Args)]
pub struct Options {
    /// Contacts (each with a conversation).
    #[arg(long, default_value_t = 100_000)]
    pub contacts: usize,
    /// Calls, spread over the contacts.
    #[arg(long, default_value_t = 500_000)]
    pub calls: usize,
    /// Transcript segments (ten per transcribed call).
    #[arg(long, default_value_t = 200_000)]
    pub segments: usize,
    /// Contacts assigned to the restricted user measured.
    #[arg(long, default_value_t = 5_000)]
    pub assigned: usize,
    /// Times each case is asked.
    #[arg(long, default_value_t = 200)]
    pub runs: usize,
    /// A PostgreSQL server to measure too (any database on it; the benchmark creates its own
    /// and drops it afterwards).
    #[arg(long, value_name = "URL")]
    pub postgres_url: Option<String>,
    /// Skip SQLite.
    #[arg(long)]
    pub no_sqlite: bool,
    /// Leave the generated databases in place (their location is printed), to look at the
    /// queries by hand.
    #[arg(long)]
    pub keep: bool,
    /// Where the SQLite database is made [default: a temporary folder]
    #[arg(long, value_name = "DIR")]
    pub work_dir: Option<std::path::PathBuf>,
}

/// One question, as the bench asks it.
pub enum Ask {
    Page(Option<ConversationCursor>),
    Channel(Channel),
    /// Name words; `true` when many contacts match.
    Words(SearchText, bool),
    /// A whole number, typed in national format; the floor looks it up by its E.164 form.
    Phone(String),
    Digits(String),
    /// A phrase; `true` when it is said in many calls.
    Transcript(String, bool),
}

#[derive(Clone, Copy, PartialEq, Eq)]
enum Case {
    FirstPage,
    DeepPage,
    Channel,
    RareName,
    CommonFragment,
    AccentedName,
    FullPhone,
    LastDigits,
    TranscriptCommon,
    TranscriptRare,
}

impl Case {
    const ALL: [Self; 10] = [
        Self::FirstPage,
        Self::DeepPage,
        Self::Channel,
        Self::RareName,
        Self::CommonFragment,
        Self::AccentedName,
        Self::FullPhone,
        Self::LastDigits,
        Self::TranscriptCommon,
        Self::TranscriptRare,
    ];

    fn name(self) -> &'static str {
        match self {
            Self::FirstPage => "first page",
            Self::DeepPage => "deep page",
            Self::Channel => "channel filter (SMS)",
            Self::RareName => "rare name",
            Self::CommonFragment => "common name fragment",
            Self::AccentedName => "accented name",
            Self::FullPhone => "full phone",
            Self::LastDigits => "last 4 digits",
            Self::TranscriptCommon => "transcript phrase, common",
            Self::TranscriptRare => "transcript phrase, rare",
        }
    }

    /// The `k`-th variant of the question, or none when the data has no sample for it.
    fn ask(self, samples: &Samples, scoped: bool, k: usize) -> Option<(Ask, Option<String>)> {
        let pick = |v: &[String]| (!v.is_empty()).then(|| v[k % v.len()].clone());
        let region = Region::us();
        Some(match self {
            Self::FirstPage => (Ask::Page(None), None),
            Self::DeepPage => {
                let cursors = if scoped {
                    &samples.scoped_deep_cursors
                } else {
                    &samples.deep_cursors
                };
                (
                    Ask::Page(Some(*cursors.get(k % cursors.len().max(1))?)),
                    None,
                )
            }
            Self::Channel => (Ask::Channel(Channel::Sms), None),
            Self::RareName => {
                let q = pick(&samples.rare_names)?;
                (Ask::Words(SearchText::new(&q, region), false), Some(q))
            }
            Self::CommonFragment => {
                let q = pick(&samples.common_fragments)?;
                (Ask::Words(SearchText::new(&q, region), true), Some(q))
            }
            Self::AccentedName => {
                let q = pick(&samples.accented_names)?;
                (Ask::Words(SearchText::new(&q, region), false), Some(q))
            }
            Self::FullPhone => {
                let q = pick(&samples.full_phones)?;
                let e164 = callvault_core::phone::E164::parse(&q, region).ok()?;
                (Ask::Phone(e164.as_str().to_owned()), Some(q))
            }
            Self::LastDigits => {
                let q = pick(&samples.last_digits)?;
                let digits = SearchText::new(&q, region).digits()?.to_owned();
                (Ask::Digits(digits), Some(q))
            }
            Self::TranscriptCommon => (Ask::Transcript(COMMON_PHRASE.into(), true), None),
            Self::TranscriptRare => (Ask::Transcript(RARE_PHRASE.into(), false), None),
        })
    }
}

/// Asks the store; returns the ids of the first page.
async fn ask_store(
    store: &dyn Store,
    ask: &Ask,
    typed: Option<&str>,
    scope: ContactScope,
) -> anyhow::Result<Vec<String>> {
    let inbox = |text: Option<SearchText>, channel, after| ConversationQuery {
        scope,
        text,
        channel,
        activity: callvault_store::ActivityFilter::default(),
        unread_by: None,
        after,
        limit: 50,
    };
    let typed_text = || typed.map(|t| SearchText::new(t, Region::us()));
    let query = match ask {
        Ask::Transcript(phrase, _) => {
            let hits = store
                .search_transcripts(SearchQuery {
                    scope,
                    text: phrase.clone(),
                    limit: 50,
                })
                .await?;
            return Ok(hits
                .iter()
                .map(|h| format!("{}:{}", h.recording_id, h.start))
                .collect());
        }
        Ask::Page(after) => inbox(None, None, *after),
        Ask::Channel(channel) => inbox(None, Some(*channel), None),
        Ask::Words(..) | Ask::Phone(_) | Ask::Digits(_) => inbox(typed_text(), None, None),
    };
    let page = store.conversations(query).await?;
    Ok(page.items.iter().map(|c| c.id.to_string()).collect())
}

struct Row {
    backend: &'static str,
    case: Case,
    scoped: bool,
    ours: Timing,
    floor: Timing,
    agree: bool,
}

struct Timing {
    p50: Duration,
    p99: Duration,
}

fn timing(mut samples: Vec<Duration>) -> Timing {
    samples.sort();
    let at = |q: f64| {
        #[allow(
            clippy::cast_possible_truncation,
            clippy::cast_sign_loss,
            clippy::cast_precision_loss,
            reason = "an index into a short list"
        )]
        let i = ((samples.len() as f64 - 1.0) * q).round() as usize;
        samples.get(i).copied().unwrap_or_default()
    };
    Timing {
        p50: at(0.50),
        p99: at(0.99),
    }
}

fn ms(d: Duration) -> f64 {
    d.as_secs_f64() * 1000.0
}

async fn measure(
    backend: &'static str,
    store: &dyn Store,
    floor: &Floor,
    samples: &Samples,
    runs: usize,
) -> anyhow::Result<Vec<Row>> {
    let mut rows = Vec::new();
    let scoped_user = samples.scoped_user.context("no restricted user")?;
    for case in Case::ALL {
        for scoped in [false, true] {
            let scope = if scoped {
                ContactScope::AssignedTo(scoped_user)
            } else {
                ContactScope::All
            };
            let (mut ours, mut theirs) = (Vec::with_capacity(runs), Vec::with_capacity(runs));
            let mut agree = true;
            // A few untimed rounds first, so both start from the same warm cache.
            for k in 0..runs + 5 {
                let Some((ask, typed)) = case.ask(samples, scoped, k) else {
                    break;
                };
                let started = Instant::now();
                let got = ask_store(store, &ask, typed.as_deref(), scope).await?;
                let took = started.elapsed();
                let started = Instant::now();
                let want = floor.ask(&ask, scope).await?;
                let floor_took = started.elapsed();
                if k >= 5 {
                    ours.push(took);
                    theirs.push(floor_took);
                }
                // The floor fetches one row more (to know of a next page), ids only.
                let want: Vec<String> = want.into_iter().take(got.len().max(1)).collect();
                if !matches!(case, Case::TranscriptCommon | Case::TranscriptRare) {
                    agree &= want.len() == got.len().min(want.len()) && got.starts_with(&want);
                }
            }
            if ours.is_empty() {
                continue;
            }
            rows.push(Row {
                backend,
                case,
                scoped,
                ours: timing(ours),
                floor: timing(theirs),
                agree,
            });
        }
    }
    Ok(rows)
}

async fn load(backend: &str, tables: &dyn Tables, sizes: Sizes) -> anyhow::Result<Samples> {
    let started = Instant::now();
    let samples = data::load(tables, sizes, |done| {
        eprint!("\r{backend}: {done} of {} contacts written", sizes.contacts);
    })
    .await?;
    eprintln!(" in {:.0} s", started.elapsed().as_secs_f64());
    let rows: Vec<String> = samples
        .rows
        .iter()
        .map(|(t, n)| format!("{t} {n}"))
        .collect();
    eprintln!("{backend}: {}", rows.join(", "));
    Ok(samples)
}

pub async fn run(options: Options) -> anyhow::Result<()> {
    let sizes = Sizes {
        contacts: options.contacts.max(1),
        calls: options.calls,
        segments: options.segments,
        assigned: options.assigned.min(options.contacts).max(1),
    };
    let runs = options.runs.max(1);
    let db_options = DatabaseOptions::default();
    let mut rows = Vec::new();
    if !options.no_sqlite {
        let dir = match &options.work_dir {
            Some(dir) => tempfile::tempdir_in(dir)?,
            None => tempfile::tempdir()?,
        };
        let url = format!("sqlite://{}", dir.path().join("bench.db").display());
        if options.keep {
            eprintln!("sqlite: kept at {url}");
            let _ = dir.keep();
        }
        let store = Arc::new(SqliteStore::open(&url, &db_options).await?);
        let samples = load("sqlite", store.as_ref(), sizes).await?;
        let floor = Floor::Sqlite(
            sqlx::sqlite::SqlitePoolOptions::new()
                .max_connections(1)
                .connect_with(
                    url.parse::<sqlx::sqlite::SqliteConnectOptions>()?
                        .read_only(true),
                )
                .await?,
        );
        rows.extend(measure("sqlite", store.as_ref(), &floor, &samples, runs).await?);
    }
    if let Some(cluster) = &options.postgres_url {
        let url = create_database(cluster).await?;
        let outcome = async {
            let store = Arc::new(PostgresStore::open(&url, &db_options).await?);
            let samples = load("postgres", store.as_ref(), sizes).await?;
            // The floor's session is set as the store's, so only the SQL differs.
            let floor = Floor::Postgres(
                sqlx::postgres::PgPoolOptions::new()
                    .max_connections(1)
                    .connect_with(
                        url.parse::<sqlx::postgres::PgConnectOptions>()?
                            .options([("jit", "off"), ("max_parallel_workers_per_gather", "0")]),
                    )
                    .await?,
            );
            measure("postgres", store.as_ref(), &floor, &samples, runs).await
        }
        .await;
        if options.keep {
            eprintln!("postgres: kept at {}", redact_url(&url));
        } else {
            drop_database(cluster, &url).await;
        }
        rows.extend(outcome?);
    }
    print(&rows, sizes, runs);
    Ok(())
}

fn print(rows: &[Row], sizes: Sizes, runs: usize) {
    println!(
        "{} contacts, {} calls, {} transcript segments; a restricted user with {} contacts; {runs} runs per case",
        sizes.contacts, sizes.calls, sizes.segments, sizes.assigned
    );
    println!(
        "{:<9} {:<27} {:<9} {:>8} {:>8} {:>10} {:>10} {:>7}  same page",
        "backend", "case", "scope", "p50 ms", "p99 ms", "floor p50", "floor p99", "p99 x",
    );
    let mut worst = Duration::ZERO;
    for r in rows {
        worst = worst.max(r.ours.p99);
        let ratio = r.ours.p99.as_secs_f64() / r.floor.p99.as_secs_f64().max(1e-6);
        println!(
            "{:<9} {:<27} {:<9} {:>8.2} {:>8.2} {:>10.2} {:>10.2} {:>7.1}  {}",
            r.backend,
            r.case.name(),
            if r.scoped { "assigned" } else { "all" },
            ms(r.ours.p50),
            ms(r.ours.p99),
            ms(r.floor.p50),
            ms(r.floor.p99),
            ratio,
            if r.agree { "yes" } else { "NO" },
        );
    }
    println!("worst inbox p99 {:.1} ms", ms(worst));
}

/// A new database on the cluster for this run.
async fn create_database(cluster: &str) -> anyhow::Result<String> {
    use sqlx::Connection;
    let name = format!("callvault_bench_{}", uuid::Uuid::now_v7().simple());
    let mut admin = sqlx::PgConnection::connect(cluster)
        .await
        .with_context(|| format!("connecting to {}", redact_url(cluster)))?;
    // The name is made here from a UUID, never from input.
    sqlx::raw_sql(sqlx::AssertSqlSafe(format!("CREATE DATABASE {name}")))
        .execute(&mut admin)
        .await?;
    let mut url = url::Url::parse(cluster)?;
    url.set_path(&name);
    Ok(url.to_string())
}

async fn drop_database(cluster: &str, url: &str) {
    use sqlx::Connection;
    let Some(name) = url::Url::parse(url)
        .ok()
        .map(|u| u.path().trim_start_matches('/').to_owned())
    else {
        return;
    };
    if let Ok(mut admin) = sqlx::PgConnection::connect(cluster).await {
        let _ = sqlx::raw_sql(sqlx::AssertSqlSafe(format!(
            "DROP DATABASE IF EXISTS {name} WITH (FORCE)"
        )))
        .execute(&mut admin)
        .await;
    }
}
