//! How the inbox and the contacts list find people: names in any order, case and accent, by
//! the start of each word; numbers in any typed form. Told twice: with a few contacts, and with
//! thousands loaded in bulk, so a search that matches many is answered as well as one that
//! matches few (backends answer the two differently).

use callvault_core::contact::fold_for_search;
use callvault_core::conversation::Channel;
use callvault_core::permissions::ContactScope;
use callvault_core::user::Scope;
use callvault_core::{ContactId, ConversationId, UserId};
use callvault_store::copy::{Table, Value};
use callvault_store::*;
use time::Duration;

use crate::TestDatabase;
use crate::suite::{T0, call, inbox, number, phone, search, user};

/// Every page of a search, walked with the cursor.
async fn walk(s: &dyn Store, query: ConversationQuery) -> Vec<ConversationSummary> {
    let mut all = Vec::new();
    let mut after = None;
    loop {
        let page = s
            .conversations(ConversationQuery {
                after,
                ..query.clone()
            })
            .await
            .expect("page");
        all.extend(page.items);
        match page.next {
            Some(next) => after = Some(next),
            None => return all,
        }
    }
}

fn names(items: &[ConversationSummary]) -> Vec<&str> {
    items.iter().map(|c| c.contact.name.as_str()).collect()
}

async fn found(s: &dyn Store, scope: ContactScope, typed: &str) -> Vec<String> {
    let items = walk(
        s,
        ConversationQuery {
            text: Some(search(typed)),
            limit: 2,
            ..inbox(scope)
        },
    )
    .await;
    names(&items).into_iter().map(str::to_owned).collect()
}

pub async fn inbox_search_finds_names_and_numbers_however_typed(s: &dyn Store) {
    let ana = user(s, "ana@example.com", Scope::Assigned).await;
    number(s, "+1 415 555 0000", true, T0).await;
    let people = [
        ("Élodie Martin", "+1 415 555 0100"),
        ("José García", "+1 415 555 0101"),
        ("Martin Lefèvre", "+44 20 7946 0018"),
        ("Anna O'Brien-Smith", "+1 212 555 0199"),
    ];
    for (i, (name, number)) in people.iter().enumerate() {
        let mut c = call(
            "+1 415 555 0000",
            number,
            T0 + Duration::minutes(i as i64),
            None,
        );
        c.contact_name = Some((*name).into());
        c.handled_by = (i % 2 == 0).then_some(ana.id);
        s.report_call(c, T0 + Duration::hours(1))
            .await
            .expect("call");
    }
    let all = ContactScope::All;
    for typed in [
        "elodie",
        "Elodie M",
        "martin elodie",
        "ÉLO",
        "elodie  martin",
    ] {
        assert_eq!(found(s, all, typed).await, ["Élodie Martin"], "{typed}");
    }
    assert_eq!(
        found(s, all, "martin").await,
        ["Martin Lefèvre", "Élodie Martin"],
        "every word of a name counts, newest activity first"
    );
    assert_eq!(found(s, all, "garcia").await, ["José García"]);

    assert_eq!(found(s, all, "GARCÍA josé").await, ["José García"]);
    assert_eq!(
        found(s, all, "obrien").await,
        Vec::<String>::new(),
        "words, not letters"
    );
    assert_eq!(found(s, all, "o brien smi").await, ["Anna O'Brien-Smith"]);
    assert_eq!(
        found(s, all, "lodie").await,
        Vec::<String>::new(),
        "words match from their start"
    );
    assert_eq!(
        found(s, all, "elodie x").await,
        Vec::<String>::new(),
        "every word must match"
    );

    for typed in [
        "(415) 555-0100",
        "+1 415 555 0100",
        "4155550100",
        "555-0100",
        "0100",
    ] {
        assert_eq!(found(s, all, typed).await, ["Élodie Martin"], "{typed}");
    }
    assert_eq!(found(s, all, "020 7946 0018").await, ["Martin Lefèvre"]);
    assert_eq!(found(s, all, "+44 20 7946 0018").await, ["Martin Lefèvre"]);
    assert_eq!(
        found(s, all, "415 555").await,
        ["José García", "Élodie Martin"],
        "the start of a number"
    );
    assert_eq!(
        found(s, all, "555 01").await.len(),
        3,
        "the middle of a number"
    );

    let mine = ContactScope::AssignedTo(ana.id);
    assert_eq!(
        found(s, mine, "martin").await,
        ["Martin Lefèvre", "Élodie Martin"]
    );
    assert_eq!(
        found(s, mine, "garcia").await,
        Vec::<String>::new(),
        "not theirs"
    );
    assert_eq!(
        found(s, mine, "0101").await,
        Vec::<String>::new(),
        "not theirs"
    );

    // A search narrowed by channel; the latest message of Élodie's conversation is a note.
    let elodie = s
        .contact_by_phone(&phone("+1 415 555 0100"))
        .await
        .expect("read")
        .expect("exists");
    s.add_note(
        elodie.conversation_id.expect("conversation"),
        ana.id,
        "called back",
        T0 + Duration::hours(2),
    )
    .await
    .expect("note");
    let calls = walk(
        s,
        ConversationQuery {
            text: Some(search("martin")),
            channel: Some(Channel::Call),
            ..inbox(all)
        },
    )
    .await;
    assert_eq!(names(&calls), ["Martin Lefèvre"]);
    for (channel, named) in [
        (Channel::Call, "Martin Lefèvre"),
        (Channel::Note, "Élodie Martin"),
    ] {
        let mine_by_channel = walk(
            s,
            ConversationQuery {
                channel: Some(channel),
                ..inbox(mine)
            },
        )
        .await;
        assert_eq!(
            names(&mine_by_channel),
            [named],
            "a restricted user's inbox by {channel:?} follows each conversation's last message"
        );
    }
    let mine_now = walk(
        s,
        ConversationQuery {
            text: Some(search("martin")),
            ..inbox(mine)
        },
    )
    .await;
    assert_eq!(
        names(&mine_now),
        ["Élodie Martin", "Martin Lefèvre"],
        "new activity moves a conversation up in a restricted user's inbox too"
    );

    // A renamed contact is found by the new name only.
    s.update_contact(
        elodie.id,
        ContactPatch {
            name: Some("Élodie Durand".into()),
            ..ContactPatch::default()
        },
    )
    .await
    .expect("renamed");
    assert_eq!(found(s, all, "durand").await, ["Élodie Durand"]);
    assert_eq!(found(s, all, "elodie martin").await, Vec::<String>::new());
    assert_eq!(
        found(s, mine, "durand").await,
        ["Élodie Durand"],
        "in the inbox of a user who sees only their contacts too"
    );
    assert_eq!(found(s, mine, "elodie martin").await, Vec::<String>::new());
    let contacts = s
        .contacts(ContactQuery {
            scope: all,
            text: Some(search("durand")),
            after: None,
            limit: 10,
        })
        .await
        .expect("contacts");
    assert_eq!(contacts.items.len(), 1);

    let mut twice = call(
        "+1 415 555 0000",
        "+1 646 555 0277",
        T0 + Duration::minutes(30),
        None,
    );
    twice.contact_name = Some("Marta Martínez".into());
    s.report_call(twice, T0 + Duration::hours(1))
        .await
        .expect("call");
    assert_eq!(
        found(s, all, "mart").await,
        ["Marta Martínez", "Martin Lefèvre"],
        "once each, even when two words of a name match"
    );

    // Two numbers alike but for the area code: a whole number finds its own only.
    let mut alike = call(
        "+1 415 555 0000",
        "+1 646 555 0100",
        T0 + Duration::minutes(40),
        None,
    );
    alike.contact_name = Some("Inês Duarte".into());
    s.report_call(alike, T0 + Duration::hours(1))
        .await
        .expect("call");
    // (Élodie Martin is Élodie Durand by now.)
    assert_eq!(found(s, all, "(415) 555-0100").await, ["Élodie Durand"]);
    assert_eq!(found(s, all, "+1 646 555 0100").await, ["Inês Duarte"]);
    assert_eq!(
        found(s, all, "555-0100").await,
        ["Élodie Durand", "Inês Duarte"]
    );
}

/// Loads `n` contacts, each with a conversation, straight through the bulk path. Contact `i`
/// is named by `name(i)`, has number +1 628 55N NNNN and its latest activity `i` minutes
/// after T0; every third is assigned to `assignee`.
async fn load(
    db: &TestDatabase,
    n: usize,
    name: impl Fn(usize) -> String,
    assignee: UserId,
) -> Vec<(String, String, ConversationId)> {
    let table = |name: &str| Table::by_name(name).expect("table");
    let mut contacts = Vec::new();
    let mut conversations = Vec::new();
    let mut assignments = Vec::new();
    let mut made = Vec::new();
    for i in 0..n {
        let id = ContactId::new();
        let conversation = ConversationId::new();
        let name = name(i);
        let e164 = phone(&format!("+1 628 55{} {:04}", i / 10_000, i % 10_000));
        let at = T0 + Duration::minutes(i as i64);
        contacts.push(vec![
            Value::Uuid(id.0),
            Value::Text(name.clone()),
            Value::Text(fold_for_search(&name)),
            Value::Text(e164.as_str().to_owned()),
            Value::Text(e164.digits().to_owned()),
            Value::Text(e164.as_str().to_owned()),
            Value::Null,
            Value::Time(T0),
        ]);
        conversations.push(vec![
            Value::Uuid(conversation.0),
            Value::Uuid(id.0),
            Value::Text("call".into()),
            Value::Time(at),
            Value::Time(at),
            Value::Time(T0),
        ]);
        if i % 3 == 0 {
            assignments.push(vec![Value::Uuid(id.0), Value::Uuid(assignee.0)]);
        }
        made.push((name, e164.digits().to_owned(), conversation));
    }
    let mut import = db.tables.import().await.expect("import");
    import
        .write_rows(table("contacts"), contacts)
        .await
        .expect("contacts");
    import
        .write_rows(table("conversations"), conversations)
        .await
        .expect("conversations");
    import
        .write_rows(table("contact_assignments"), assignments)
        .await
        .expect("assignments");
    import.commit().await.expect("committed");
    made
}

pub async fn a_search_that_matches_thousands_pages_like_one_that_matches_few(db: &TestDatabase) {
    let s = db.store.as_ref();
    let ana = user(s, "ana@example.com", Scope::Assigned).await;
    // Enough that common searches match more contacts than a backend fetches from its search
    // indexes before it walks the inbox instead.
    const N: usize = 12_000;
    let first = ["Maria", "Marianne", "Mark", "Bea", "Zoltán"];
    let made = load(
        db,
        N,
        |i| match i {
            4_321 => "Quentin Rare".to_owned(),
            4_322 => "Maria Ortega".to_owned(),
            // A second common word, never with "maria" but once.
            _ if i % first.len() >= 3 => format!("{} Ortega Number{i}", first[i % first.len()]),
            _ => format!("{} Number{i}", first[i % first.len()]),
        },
        ana.id,
    )
    .await;
    let expect = |typed: &str, mine: bool| -> Vec<ConversationId> {
        let text = search(typed);
        // Newest first: contact i is active i minutes after T0.
        made.iter()
            .enumerate()
            .rev()
            .filter(|(i, (name, digits, _))| {
                (!mine || i % 3 == 0) && text.matches(&fold_for_search(name), digits)
            })
            .map(|(_, (_, _, id))| *id)
            .collect()
    };
    for (typed, many) in [
        ("mar", true),
        ("maria", true),
        ("zoltan", false),
        ("quentin", false),
        ("number43", false),
        ("628", true),
        ("6285", true),
        ("+1 628 550 4321", false),
        // Several words: common together, rare together, or led by a rare one.
        ("mar num", true),
        ("maria number12", false),
        ("maria ortega", false),
        ("ortega", true),
        ("number43 zol", false),
    ] {
        for (scope, mine) in [
            (ContactScope::All, false),
            (ContactScope::AssignedTo(ana.id), true),
        ] {
            let wanted = expect(typed, mine);
            if !mine {
                assert_eq!(
                    wanted.len() > 4_000,
                    many,
                    "{typed:?} matches {}",
                    wanted.len()
                );
            }
            let got: Vec<ConversationId> = walk(
                s,
                ConversationQuery {
                    text: Some(search(typed)),
                    limit: 200,
                    ..inbox(scope)
                },
            )
            .await
            .iter()
            .map(|c| c.id)
            .collect();
            assert_eq!(got.len(), wanted.len(), "{typed:?} (mine: {mine})");
            assert!(
                got == wanted,
                "{typed:?} (mine: {mine}): the same entries in order"
            );
        }
    }
}

/// Each loaded contact gets one call with a transcript of one segment, said at the call's
/// start; contact `i`'s call starts `i` minutes after T0.
async fn load_transcripts(
    db: &TestDatabase,
    made: &[(String, String, ConversationId)],
    said: impl Fn(usize) -> String,
) {
    let table = |name: &str| Table::by_name(name).expect("table");
    let number = number(db.store.as_ref(), "+1 415 555 0000", true, T0).await;
    let mut calls = Vec::new();
    let mut recordings = Vec::new();
    let mut transcripts = Vec::new();
    let mut segments = Vec::new();
    for (i, (_, digits, conversation)) in made.iter().enumerate() {
        let contact = db
            .store
            .contact_by_phone(&phone(&format!("+{digits}")))
            .await
            .expect("read")
            .expect("loaded");
        let (call, recording, transcript) = (
            callvault_core::CallId::new(),
            callvault_core::RecordingId::new(),
            callvault_core::TranscriptId::new(),
        );
        let at = T0 + Duration::minutes(i as i64);
        calls.push(vec![
            Value::Uuid(call.0),
            Value::Uuid(conversation.0),
            Value::Uuid(contact.id.0),
            Value::Uuid(number.id.0),
            Value::Text("pbx".into()),
            Value::Null,
            Value::Text("inbound".into()),
            Value::Text("answered".into()),
            Value::Text(format!("+{digits}")),
            Value::Text("+14155550000".into()),
            Value::Time(at),
            Value::Time(at),
            Value::Time(at + Duration::minutes(1)),
            Value::Null,
            Value::Bool(true),
            Value::Null,
            Value::Time(at),
            Value::Null,
        ]);
        recordings.push(vec![
            Value::Uuid(recording.0),
            Value::Uuid(call.0),
            Value::Text(format!("{recording}.mp3")),
            Value::Int(60_000),
            Value::Int(2),
            Value::Int(8000),
            Value::Int(1000),
            Value::Text("00".repeat(32)),
            Value::Text("{\"bucket_ms\":10,\"channels\":[]}".into()),
            Value::Time(at),
            Value::Null,
            Value::Text("[]".into()),
            Value::Bool(false),
        ]);
        transcripts.push(vec![
            Value::Uuid(transcript.0),
            Value::Uuid(recording.0),
            Value::Text("done".into()),
            Value::Text("en".into()),
            Value::Real(1.0),
            Value::Null,
            Value::Null,
            Value::Time(at),
            Value::Time(at),
        ]);
        segments.push(vec![
            Value::Int(i as i64 + 1),
            Value::Uuid(transcript.0),
            Value::Int(0),
            Value::Int(0),
            Value::Int(4_000),
            Value::Text("Caller".into()),
            Value::Text(said(i)),
            Value::Int(0),
        ]);
    }
    let mut import = db.tables.import().await.expect("import");
    for (name, rows) in [
        ("calls", calls),
        ("recordings", recordings),
        ("transcripts", transcripts),
        ("transcript_segments", segments),
    ] {
        import.write_rows(table(name), rows).await.expect("rows");
    }
    import.commit().await.expect("committed");
}

pub async fn a_phrase_said_thousands_of_times_is_found_newest_call_first(db: &TestDatabase) {
    let s = db.store.as_ref();
    let ana = user(s, "ana@example.com", Scope::Assigned).await;
    // More calls say it than a backend orders from its index before it walks instead.
    const N: usize = 3_000;
    let made = load(db, N, |i| format!("Caller {i}"), ana.id).await;
    let said = |i: usize| {
        if i % 10 == 3 {
            "Thank you, goodbye.".to_owned()
        } else {
            format!("Hello, what is the Delivery Address for order {i}?")
        }
    };
    load_transcripts(db, &made, said).await;
    for (scope, mine) in [
        (ContactScope::All, false),
        (ContactScope::AssignedTo(ana.id), true),
    ] {
        let hits = s
            .search_transcripts(SearchQuery {
                scope,
                text: "delivery address".into(),
                limit: 50,
            })
            .await
            .expect("search");
        let wanted: Vec<ConversationId> = made
            .iter()
            .enumerate()
            .rev()
            .filter(|(i, _)| i % 10 != 3 && (!mine || i % 3 == 0))
            .take(50)
            .map(|(_, (_, _, id))| *id)
            .collect();
        assert_eq!(
            hits.iter().map(|h| h.conversation_id).collect::<Vec<_>>(),
            wanted,
            "newest call first (mine: {mine})"
        );
        assert!(
            hits[0].snippet.contains("[Delivery Address]"),
            "{}",
            hits[0].snippet
        );
    }
    let none = s
        .search_transcripts(SearchQuery {
            scope: ContactScope::All,
            text: "goodbye delivery".into(),
            limit: 50,
        })
        .await
        .expect("search");
    assert!(none.is_empty(), "a phrase, not words anywhere");
}
