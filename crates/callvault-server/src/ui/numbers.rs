//! Settings → Phone numbers: the business's numbers and, for admins, each number's
//! Edit Configuration dialog (Call Recording, the consent announcement, forward targets).

use askama::Template;
use axum::extract::State;
use axum::response::Response;
use callvault_core::number::Provider;
use callvault_core::permissions::{OrgAction, can_org};

use super::chrome::{self, Chrome, PageUser, Section};
use super::{PageError, assets};
use crate::auth::require_org;
use crate::state::AppState;

struct NumberRow {
    id: String,
    e164: String,
    label: String,
    provider: &'static str,
    call_recording: bool,
    transcribe_automatically: bool,
    forward_count: usize,
}

#[derive(Template)]
#[template(path = "numbers.html")]
struct NumbersPage {
    assets: &'static str,
    chrome: Chrome,
    rows: Vec<NumberRow>,
    can_manage: bool,
}

pub async fn page(
    State(state): State<AppState>,
    PageUser(user): PageUser,
) -> Result<Response, PageError> {
    require_org(&user, OrgAction::ViewNumbers)?;
    let rows = state
        .store
        .numbers()
        .await?
        .into_iter()
        .map(|n| NumberRow {
            id: n.id.to_string(),
            e164: n.e164.to_string(),
            label: n.label,
            provider: match n.provider {
                Provider::Twilio => "Twilio",
                Provider::Pbx => "PBX",
            },
            call_recording: n.call_recording,
            transcribe_automatically: n.transcribe_automatically,
            forward_count: n.forward_to.len(),
        })
        .collect();
    chrome::render(&NumbersPage {
        assets: assets::base(),
        can_manage: can_org(&user, OrgAction::ManageNumbers),
        chrome: Chrome::new(&user, Section::PhoneNumbers),
        rows,
    })
}
