//! The installation the store benchmark searches: contacts with names from common first and
//! last names (some accented, some rare and unique), numbers across ten area codes, calls spread
//! over two years, a few text messages, transcripts with common and rare phrases, and
//! assignments (every contact to one of 20 agents, and `assigned` of them to the restricted
//! user measured). Generated the same for every backend and written through its bulk path.

use callvault_core::contact::fold_for_search;
use callvault_core::{ConversationId, UserId};
use callvault_store::ConversationCursor;
use callvault_store::copy::{Import, Row, Table, Tables, Value};
use time::macros::datetime;
use time::{Duration, OffsetDateTime};
use uuid::Uuid;

use super::super::signal::Rng;

const FIRST: &[&str] = &[
    "Maria",
    "Mark",
    "Martin",
    "Marianne",
    "James",
    "John",
    "Joseph",
    "José",
    "Anna",
    "Ana",
    "Anne",
    "Élodie",
    "Elena",
    "Zoë",
    "Zoe",
    "Łukasz",
    "Lucas",
    "Luca",
    "Søren",
    "Sarah",
    "David",
    "Daniel",
    "Danielle",
    "Emma",
    "Emily",
    "Olivia",
    "Oliver",
    "Noah",
    "Liam",
    "Sofia",
    "Sophie",
    "Mohammed",
    "Fatima",
    "Chen",
    "Wei",
    "Yuki",
    "Hiroshi",
    "Priya",
    "Rahul",
    "Ahmed",
    "Isabella",
    "Mateo",
    "Camila",
    "Valentina",
    "Thomas",
    "Tomás",
    "Peter",
    "Pierre",
    "Paul",
    "Paula",
    "Karen",
    "Kevin",
    "Laura",
    "Lars",
    "Ingrid",
    "Björn",
    "Ole",
    "Eva",
    "Hugo",
    "Chloé",
];

const LAST: &[&str] = &[
    "Smith",
    "Johnson",
    "Williams",
    "Brown",
    "Jones",
    "García",
    "Miller",
    "Davis",
    "Rodríguez",
    "Martínez",
    "Hernández",
    "López",
    "González",
    "Wilson",
    "Anderson",
    "Thomas",
    "Taylor",
    "Moore",
    "Jackson",
    "Martin",
    "Lee",
    "Pérez",
    "Thompson",
    "White",
    "Harris",
    "Sánchez",
    "Clark",
    "Ramírez",
    "Lewis",
    "Robinson",
    "Walker",
    "Young",
    "Allen",
    "King",
    "Wright",
    "Scott",
    "Torres",
    "Nguyen",
    "Hill",
    "Flores",
    "Green",
    "Adams",
    "Nelson",
    "Baker",
    "Hall",
    "Rivera",
    "Campbell",
    "Mitchell",
    "Carter",
    "Roberts",
    "Müller",
    "Schmidt",
    "Schneider",
    "Fischer",
    "Weber",
    "Meyer",
    "Wagner",
    "Becker",
    "Schulz",
    "Hoffmann",
    "Lefèvre",
    "Dubois",
    "Moreau",
    "Laurent",
    "Simon",
    "Michel",
    "Leroy",
    "Roux",
    "David",
    "Bertrand",
    "Rossi",
    "Russo",
    "Ferrari",
    "Esposito",
    "Bianchi",
    "Romano",
    "Colombo",
    "Ricci",
    "Marino",
    "Greco",
    "Ødegaard",
    "Hansen",
    "Johansen",
    "Olsen",
    "Larsen",
    "Andersen",
    "Pedersen",
    "Nilsen",
    "Kowalski",
    "Nowak",
    "Wiśniewski",
    "Wójcik",
    "Kowalczyk",
    "Kamiński",
    "Lewandowski",
    "Zieliński",
    "Szymański",
    "Woźniak",
    "Dąbrowski",
    "Kozłowski",
    "Silva",
    "Santos",
    "Oliveira",
    "Souza",
    "Costa",
    "Pereira",
    "Almeida",
    "Nunes",
    "Tanaka",
    "Suzuki",
    "Takahashi",
    "Watanabe",
    "Itō",
    "Yamamoto",
    "Nakamura",
    "Kobayashi",
    "Kim",
    "Park",
    "Choi",
    "Jung",
    "Kang",
    "Cho",
    "Patel",
    "Shah",
    "Singh",
    "Kumar",
    "Gupta",
    "Sharma",
    "Khan",
    "Ali",
    "Hassan",
    "Hussein",
    "O'Brien",
    "O'Connor",
    "Murphy",
    "Kelly",
    "Walsh",
    "Byrne",
    "Ryan",
    "McCarthy",
    "Doyle",
    "Nuñez",
    "Núñez",
    "Castro",
    "Vargas",
    "Ortiz",
    "Morales",
    "Reyes",
    "Cruz",
    "Gómez",
    "Díaz",
];

/// Syllables of the rare surnames; every rare name has the same number of them, so none is
/// the start of another.
const SYLLABLES: &[&str] = &[
    "ka", "lo", "mi", "zu", "re", "ta", "vo", "ni", "qu", "se", "di", "po", "fa", "gu", "he", "jo",
    "wy", "xe", "bo", "cy",
];

const AREAS: &[&str] = &[
    "415", "628", "650", "212", "646", "312", "617", "206", "305", "512",
];

const AGENTS: usize = 20;

/// Calls fall in the two years before this.
const END: OffsetDateTime = datetime!(2026-11-01 00:00 UTC);

/// A phrase in about one segment in twenty, and one in about one in ten thousand.
pub const COMMON_PHRASE: &str = "delivery address";
pub const RARE_PHRASE: &str = "purple elephant";

#[derive(Debug, Clone, Copy)]
pub struct Sizes {
    pub contacts: usize,
    pub calls: usize,
    pub segments: usize,
    pub assigned: usize,
}

/// What the benchmark asks for, drawn from what was generated.
#[derive(Debug, Default)]
pub struct Samples {
    pub scoped_user: Option<UserId>,
    pub rare_names: Vec<String>,
    pub accented_names: Vec<String>,
    pub common_fragments: Vec<String>,
    pub full_phones: Vec<String>,
    pub last_digits: Vec<String>,
    /// Cursors into the middle of the inbox, and of the restricted user's.
    pub deep_cursors: Vec<ConversationCursor>,
    pub scoped_deep_cursors: Vec<ConversationCursor>,
    /// What was written, table by table.
    pub rows: Vec<(&'static str, u64)>,
}

fn id(kind: u64, n: u64) -> Uuid {
    // Deterministic, unique per table and row, and ordered like creation within a table.
    Uuid::from_u64_pair(0x0190_0000_0000_7000 | kind << 16, n)
}

fn text(s: impl Into<String>) -> Value {
    Value::Text(s.into())
}

fn rare_name(n: usize) -> String {
    let mut name = String::from("Qu");
    let mut rest = n;
    for _ in 0..4 {
        name.push_str(SYLLABLES[rest % SYLLABLES.len()]);
        rest /= SYLLABLES.len();
    }
    name
}

fn table(name: &str) -> &'static Table {
    Table::by_name(name).unwrap_or_else(|| panic!("no table {name}"))
}

/// Rows of one chunk, by table, in the order they must be written.
#[derive(Default)]
struct Chunk {
    contacts: Vec<Row>,
    conversations: Vec<Row>,
    assignments: Vec<Row>,
    calls: Vec<Row>,
    events: Vec<Row>,
    recordings: Vec<Row>,
    transcripts: Vec<Row>,
    segments: Vec<Row>,
}

impl Chunk {
    async fn write(
        self,
        import: &mut dyn Import,
        counts: &mut Vec<(&'static str, u64)>,
    ) -> anyhow::Result<()> {
        for (name, rows) in [
            ("contacts", self.contacts),
            ("conversations", self.conversations),
            ("contact_assignments", self.assignments),
            ("calls", self.calls),
            ("events", self.events),
            ("recordings", self.recordings),
            ("transcripts", self.transcripts),
            ("transcript_segments", self.segments),
        ] {
            if let Some(count) = counts.iter_mut().find(|(n, _)| *n == name) {
                count.1 += rows.len() as u64;
            } else {
                counts.push((table(name).name, rows.len() as u64));
            }
            import.write_rows(table(name), rows).await?;
        }
        Ok(())
    }
}

const WORDS: &[&str] = &[
    "thank", "you", "for", "calling", "the", "order", "number", "please", "can", "I", "have",
    "your", "account", "we", "will", "send", "it", "today", "tomorrow", "invoice", "payment",
    "card", "shipping", "parcel", "Friday", "Monday", "office", "Boston", "help", "with", "that",
    "yes", "no", "sure", "of", "course", "one", "moment", "let", "me", "check", "refund",
];

fn sentence(rng: &mut Rng, words: usize) -> String {
    let mut out: Vec<&str> = (0..words).map(|_| WORDS[rng.below(WORDS.len())]).collect();
    let roll = rng.below(10_000);
    let phrase = if roll < 500 {
        Some(COMMON_PHRASE)
    } else if roll < 501 {
        Some(RARE_PHRASE)
    } else {
        None
    };
    if let Some(phrase) = phrase {
        let at = rng.below(out.len() + 1);
        out.insert(at, phrase);
    }
    out.join(" ")
}

/// Generates the installation and writes it through `tables`, a chunk per transaction.
#[allow(
    clippy::cast_possible_wrap,
    clippy::cast_possible_truncation,
    clippy::cast_sign_loss,
    clippy::cast_precision_loss,
    clippy::too_many_lines,
    reason = "benchmark sizes are far below every limit; one pass writes every table"
)]
pub async fn load(
    tables: &dyn Tables,
    sizes: Sizes,
    mut progress: impl FnMut(usize),
) -> anyhow::Result<Samples> {
    const CHUNK: usize = 20_000;
    let mut rng = Rng(0x5eed_cafe_f00d_1234);
    let mut samples = Samples::default();
    let mut counts = Vec::new();
    let created = END - Duration::days(800);

    // People and numbers first.
    let mut import = tables.import().await?;
    let mut users = Vec::new();
    let agents: Vec<Uuid> = (0..=AGENTS as u64).map(|n| id(1, n)).collect();
    for (n, agent) in agents.iter().enumerate() {
        let scoped = n == AGENTS;
        users.push(vec![
            Value::Uuid(*agent),
            text(format!("agent{n}@bench.example")),
            text(if scoped {
                "Restricted Agent".to_owned()
            } else {
                format!("Agent {n}")
            }),
            Value::Null,
            text("user"),
            text(if scoped { "assigned" } else { "all" }),
            Value::Bool(true),
            Value::Bool(false),
            Value::Bool(false),
            Value::Time(created),
            // No extension.
            Value::Null,
        ]);
    }
    samples.scoped_user = Some(UserId::from(agents[AGENTS]));
    import.write_rows(table("users"), users).await?;
    let number = id(2, 0);
    import
        .write_rows(
            table("phone_numbers"),
            vec![vec![
                Value::Uuid(number),
                text("+14155550000"),
                text("Sales"),
                text("pbx"),
                Value::Bool(true),
                Value::Null,
                Value::Bool(false),
                Value::Time(created),
                Value::Time(created),
                Value::Null,
                Value::Null,
                Value::Bool(false),
            ]],
        )
        .await?;
    import
        .write_rows(
            table("number_recording_changes"),
            vec![vec![
                Value::Int(1),
                Value::Uuid(number),
                Value::Bool(true),
                Value::Time(created),
            ]],
        )
        .await?;
    import.commit().await?;

    let calls_per = (sizes.calls as f64 / sizes.contacts.max(1) as f64).max(1.0);
    let every_scoped = (sizes.contacts / sizes.assigned.max(1)).max(1);
    let segments_per_call = 10;
    let mut segments_left = sizes.segments;
    let (mut call_n, mut event_n, mut rec_n, mut seg_n) = (0_u64, 0_u64, 0_u64, 0_u64);
    let span = (END - created).whole_seconds();
    let mut scoped_seen = 0;
    for start in (0..sizes.contacts).step_by(CHUNK) {
        let mut chunk = Chunk::default();
        for i in start..(start + CHUNK).min(sizes.contacts) {
            let contact = id(3, i as u64);
            let conversation = id(4, i as u64);
            let first = FIRST[rng.below(FIRST.len())];
            let last = if i % 1000 == 500 {
                rare_name(i / 1000)
            } else {
                LAST[rng.below(LAST.len())].to_owned()
            };
            let name = format!("{first} {last}");
            if i % 1000 == 500 && samples.rare_names.len() < 200 {
                samples.rare_names.push(last.to_lowercase());
            }
            if !first.is_ascii() && !last.is_ascii() && samples.accented_names.len() < 200 {
                samples.accented_names.push(name.clone());
            }
            let area = AREAS[i % AREAS.len()];
            let seq = i / AREAS.len();
            let (exchange, line) = (200 + (seq / 10_000) % 800, seq % 10_000);
            let e164 = format!("+1{area}{exchange}{line:04}");
            if i % 997 == 0 && samples.full_phones.len() < 200 {
                samples
                    .full_phones
                    .push(format!("({area}) {exchange}-{line:04}"));
            }
            chunk.contacts.push(vec![
                Value::Uuid(contact),
                text(name.clone()),
                text(fold_for_search(&name)),
                text(e164.clone()),
                text(&e164[1..]),
                text(e164.clone()),
                Value::Null,
                Value::Time(created),
            ]);
            chunk
                .assignments
                .push(vec![Value::Uuid(contact), Value::Uuid(agents[i % AGENTS])]);
            let scoped = i % every_scoped == 0 && scoped_seen < sizes.assigned;
            if scoped {
                scoped_seen += 1;
                chunk
                    .assignments
                    .push(vec![Value::Uuid(contact), Value::Uuid(agents[AGENTS])]);
            }
            let calls = 1 + rng.below((2.0 * calls_per) as usize - 1);
            let mut latest = created;
            for _ in 0..calls {
                let at = created + Duration::seconds(rng.below(span as usize) as i64);
                latest = latest.max(at);
                let call = id(5, call_n);
                call_n += 1;
                let answered = rng.below(10) < 7;
                chunk.calls.push(vec![
                    Value::Uuid(call),
                    Value::Uuid(conversation),
                    Value::Uuid(contact),
                    Value::Uuid(number),
                    text("pbx"),
                    Value::Null,
                    text(if rng.below(2) == 0 {
                        "inbound"
                    } else {
                        "outbound"
                    }),
                    text(if answered { "answered" } else { "no-answer" }),
                    text(e164.clone()),
                    text("+14155550000"),
                    Value::Time(at),
                    if answered {
                        Value::Time(at + Duration::seconds(5))
                    } else {
                        Value::Null
                    },
                    Value::Time(at + Duration::seconds(120)),
                    if answered {
                        Value::Uuid(agents[i % AGENTS])
                    } else {
                        Value::Null
                    },
                    Value::Bool(true),
                    Value::Null,
                    Value::Time(at),
                    Value::Null,
                ]);
                chunk.events.push(vec![
                    Value::Uuid(id(6, event_n)),
                    Value::Uuid(conversation),
                    text("call"),
                    Value::Time(at),
                    Value::Uuid(call),
                    Value::Null,
                    Value::Null,
                    Value::Null,
                    Value::Null,
                ]);
                event_n += 1;
                if answered && segments_left > 0 && rng.below(4) == 0 {
                    let recording = id(7, rec_n);
                    let transcript = id(8, rec_n);
                    rec_n += 1;
                    chunk.recordings.push(vec![
                        Value::Uuid(recording),
                        Value::Uuid(call),
                        text(format!("{recording}.mp3")),
                        Value::Int(115_000),
                        Value::Int(2),
                        Value::Int(8000),
                        Value::Int(690_000),
                        text("00".repeat(32)),
                        text("{\"bucket_ms\":10,\"channels\":[]}"),
                        Value::Time(at + Duration::seconds(130)),
                        Value::Null,
                        text("[]"),
                        Value::Bool(false),
                    ]);
                    chunk.transcripts.push(vec![
                        Value::Uuid(transcript),
                        Value::Uuid(recording),
                        text("done"),
                        text("en"),
                        Value::Real(1.0),
                        Value::Null,
                        Value::Null,
                        Value::Time(at + Duration::seconds(200)),
                        Value::Time(at + Duration::seconds(200)),
                    ]);
                    for idx in 0..segments_per_call.min(segments_left) {
                        seg_n += 1;
                        let length = 6 + rng.below(10);
                        chunk.segments.push(vec![
                            Value::Int(seg_n as i64),
                            Value::Uuid(transcript),
                            Value::Int(idx as i64),
                            Value::Int((idx * 10_000) as i64),
                            Value::Int((idx * 10_000 + 9_000) as i64),
                            text(if idx % 2 == 0 { "Caller" } else { "Agent" }),
                            text(sentence(&mut rng, length)),
                            // The channel the speaker was on: the caller 0, the agent 1.
                            Value::Int((idx % 2) as i64),
                        ]);
                    }
                    segments_left = segments_left.saturating_sub(segments_per_call);
                }
            }
            let mut channel = "call";
            if rng.below(10) == 0 {
                // A text message after the last call: the Quick Filter for SMS finds these.
                latest += Duration::minutes(5);
                channel = "sms";
                chunk.events.push(vec![
                    Value::Uuid(id(6, event_n)),
                    Value::Uuid(conversation),
                    text("sms"),
                    Value::Time(latest),
                    Value::Null,
                    text("inbound"),
                    text("Can you call me back?"),
                    Value::Null,
                    text(format!("SM{event_n}")),
                ]);
                event_n += 1;
            }
            chunk.conversations.push(vec![
                Value::Uuid(conversation),
                Value::Uuid(contact),
                text(channel),
                Value::Time(latest),
                Value::Time(latest),
                Value::Time(created),
            ]);
            let cursor = ConversationCursor {
                activity_at: latest,
                id: ConversationId::from(conversation),
            };
            if i % 4_999 == 2_500 && samples.deep_cursors.len() < 200 {
                samples.deep_cursors.push(cursor);
            }
            if scoped && scoped_seen % 97 == 48 && samples.scoped_deep_cursors.len() < 200 {
                samples.scoped_deep_cursors.push(cursor);
            }
        }
        let mut import = tables.import().await?;
        chunk.write(import.as_mut(), &mut counts).await?;
        import.commit().await?;
        progress((start + CHUNK).min(sizes.contacts));
    }
    tables.analyze().await?;
    samples.common_fragments = ["mar", "jo", "an", "da", "sch", "ol"]
        .iter()
        .map(|s| (*s).to_owned())
        .collect();
    for _ in 0..200 {
        samples
            .last_digits
            .push(format!("{:04}", rng.below(10_000)));
    }
    counts.insert(0, ("users", (AGENTS + 1) as u64));
    samples.rows = counts;
    Ok(samples)
}
