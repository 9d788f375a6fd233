//! The operator commands besides `serve`: accounts and tokens on the server host.
//!
//! Commands that create a token print it alone on the last line of stdout, so scripts can
//! take it with `tail -n1`. Errors are printed in full: the operator may see details that a
//! client may not.

use anyhow::Context;
use uuid::Uuid;

use crate::{
    config::{AccountsCommand, Limits, StoreConfig, TokensCommand},
    db,
    entity::enums::Role,
    error::AppError,
    service::{
        accounts::{self, AccountFilter, Actor, NewAccount, NewToken},
        paging::PageRequest,
    },
};

async fn open(store: &StoreConfig) -> anyhow::Result<sea_orm::DatabaseConnection> {
    let db = db::connect(store).await?;
    db::migrate(&db).await?;
    Ok(db)
}

fn detail(e: AppError) -> anyhow::Error {
    anyhow::anyhow!("{e}")
}

fn uuid(value: &str, flag: &str) -> anyhow::Result<Uuid> {
    Uuid::parse_str(value).with_context(|| format!("{flag} must be an id (UUID)"))
}

/// `sandboxql accounts …`
pub async fn accounts(cmd: AccountsCommand) -> anyhow::Result<()> {
    match cmd {
        AccountsCommand::List { store } => {
            let db = open(&store).await?;
            let mut after = None;
            loop {
                let page = PageRequest { first: 100, after };
                let rows =
                    accounts::list(&db, Actor::Operator, &AccountFilter::default(), page).await.map_err(detail)?;
                for a in &rows.items {
                    let role = if a.role == Role::Admin { "ADMIN" } else { "USER" };
                    let state = if a.disabled { "disabled" } else { "enabled" };
                    let ext = a.external_id.as_deref().unwrap_or("-");
                    println!("{}\t{role}\t{state}\t{ext}\t{}", a.id, a.name);
                }
                match (rows.has_next_page, rows.items.last()) {
                    (true, Some(last)) => after = Some(last.id),
                    _ => return Ok(()),
                }
            }
        }
        AccountsCommand::Disable { id, store } => {
            let id = uuid(&id, "--id")?;
            accounts::disable_account(&open(&store).await?, id).await.map_err(detail)?;
            println!("account {id} disabled");
            Ok(())
        }
        AccountsCommand::Budget { id, daily_usd, monthly_usd, max_concurrent_runs, store } => {
            let id = uuid(&id, "--id")?;
            let b = crate::service::billing::budgets::Budget { daily_usd, monthly_usd, max_concurrent_runs };
            let set = crate::service::billing::budgets::set(&open(&store).await?, Actor::Operator, id, b)
                .await
                .map_err(detail)?;
            let show = |v: Option<f64>| v.map_or("none".to_string(), |u| format!("${u:.2}"));
            let runs = set.max_concurrent_runs.map_or("none".to_string(), |n| n.to_string());
            println!(
                "account {id}: daily {}, monthly {}, runs at once {runs}",
                show(set.daily_usd),
                show(set.monthly_usd)
            );
            Ok(())
        }
        AccountsCommand::Create { name, admin, external_id, store } => {
            let db = open(&store).await?;
            let role = if admin { Role::Admin } else { Role::User };
            let max_name = Limits::from_env()?.max_name_chars;
            let new = NewAccount { name, role, organization_id: None, external_id };
            let acct = accounts::create(&db, Actor::Operator, new, max_name).await.map_err(detail)?;
            let issued = accounts::issue_token(&db, Actor::Operator, acct.id, NewToken::named("initial"), max_name)
                .await
                .map_err(detail)?;
            println!("account id: {}", issued.account_id);
            println!("token id: {}", issued.token_id);
            println!("token (shown once, store it now):");
            println!("{}", issued.token);
            Ok(())
        }
    }
}

/// `sandboxql tokens …`
pub async fn tokens(cmd: TokensCommand) -> anyhow::Result<()> {
    match cmd {
        TokensCommand::List { account, store } => {
            let db = open(&store).await?;
            let account = uuid(&account, "--account")?;
            let rows = accounts::tokens_of(&db, Actor::Operator, account, u64::MAX).await.map_err(detail)?;
            for t in rows {
                let expires = t.expires_at.map_or("-".into(), |e| e.to_rfc3339());
                let state = if t.revoked_at.is_some() { "revoked" } else { "active" };
                let scope = if t.read_only { "read-only" } else { "full" };
                println!("{}\t{state}\t{scope}\texpires {expires}\t{}", t.id, t.name);
            }
            Ok(())
        }
        TokensCommand::Revoke { id, store } => {
            let id = uuid(&id, "--id")?;
            accounts::revoke_token(&open(&store).await?, id).await.map_err(detail)?;
            println!("token {id} revoked");
            Ok(())
        }
        TokensCommand::Create { account, name, expires_at, read_only, store } => {
            let account = uuid(&account, "--account")?;
            let db = open(&store).await?;
            let new = NewToken { name, expires_at, read_only };
            let max_name = Limits::from_env()?.max_name_chars;
            let issued = accounts::issue_token(&db, Actor::Operator, account, new, max_name).await.map_err(detail)?;
            println!("token id: {}", issued.token_id);
            println!("token for account {} (shown once, store it now):", issued.account_id);
            println!("{}", issued.token);
            Ok(())
        }
    }
}
