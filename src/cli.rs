//! The operator commands besides `serve`: create accounts and tokens.
//!
//! Each prints the new token alone on the last line of stdout, so scripts can take it
//! with `tail -n1`.

use anyhow::Context;
use uuid::Uuid;

use crate::{
    config::{AccountsCommand, StoreConfig, TokensCommand},
    db,
    entity::enums::Role,
    service::accounts,
};

async fn open(store: &StoreConfig) -> anyhow::Result<sea_orm::DatabaseConnection> {
    let db = db::connect(store).await?;
    db::migrate(&db).await?;
    Ok(db)
}

/// `sandboxql accounts …`
pub async fn accounts(cmd: AccountsCommand) -> anyhow::Result<()> {
    match cmd {
        AccountsCommand::Disable { id, store } => {
            let id = Uuid::parse_str(&id).context("--id must be an account id (UUID)")?;
            accounts::disable_account(&open(&store).await?, id)
                .await
                .map_err(|e| anyhow::anyhow!("{}", e.public_message()))?;
            println!("account {id} disabled");
            Ok(())
        }
        AccountsCommand::Create { name, admin, store } => {
            let db = open(&store).await?;
            let role = if admin { Role::Admin } else { Role::User };
            let max_name = crate::config::Limits::from_env()?.max_name_chars;
            let issued = accounts::create_account(&db, &name, role, max_name)
                .await
                .map_err(|e| anyhow::anyhow!("{}", e.public_message()))?;
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
        TokensCommand::Revoke { id, store } => {
            let id = Uuid::parse_str(&id).context("--id must be a token id (UUID)")?;
            accounts::revoke_token(&open(&store).await?, id)
                .await
                .map_err(|e| anyhow::anyhow!("{}", e.public_message()))?;
            println!("token {id} revoked");
            Ok(())
        }
        TokensCommand::Create { account, name, store } => {
            let account = Uuid::parse_str(&account).context("--account must be an account id (UUID)")?;
            let db = open(&store).await?;
            let issued = accounts::create_token(&db, account, &name)
                .await
                .map_err(|e| anyhow::anyhow!("{}", e.public_message()))?;
            println!("token id: {}", issued.token_id);
            println!("token for account {} (shown once, store it now):", issued.account_id);
            println!("{}", issued.token);
            Ok(())
        }
    }
}
