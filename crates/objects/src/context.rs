//! What resolvers take from the request: the caller, the services, and validated ids.

use async_graphql::{Context, ID};
use uuid::Uuid;

use crate::{
    auth::Viewer,
    error::{AppError, AppResult},
    service::{
        Services,
        sandboxes::{self, VisibleSandbox},
    },
};

/// The authenticated caller, or UNAUTHENTICATED.
pub fn viewer<'a>(ctx: &Context<'a>) -> AppResult<&'a Viewer> {
    ctx.data_opt::<Viewer>().ok_or(AppError::Unauthenticated("missing bearer token"))
}

/// The services, put into the schema at build time.
pub fn services<'a>(ctx: &Context<'a>) -> &'a Services {
    ctx.data_unchecked::<Services>()
}

/// Both at once, as nearly every resolver needs them.
pub fn scope<'a>(ctx: &Context<'a>) -> AppResult<(&'a Services, &'a Viewer)> {
    Ok((services(ctx), viewer(ctx)?))
}

/// An `ID` argument as a UUID; anything else is BAD_USER_INPUT naming the argument.
pub fn parse_id(id: &ID, arg: &str) -> AppResult<Uuid> {
    Uuid::parse_str(id.as_str()).map_err(|_| AppError::bad_input(format!("`{arg}` is not a valid id")))
}

/// The sandbox named by an `ID` argument, if the caller may see it; NOT_FOUND otherwise.
pub async fn require_sandbox(ctx: &Context<'_>, id: &ID, arg: &str) -> AppResult<VisibleSandbox> {
    let (svc, viewer) = scope(ctx)?;
    sandboxes::require(&svc.db, viewer, parse_id(id, arg)?).await
}

/// An optional `ID` argument as a UUID.
pub fn parse_opt_id(id: Option<&ID>, arg: &str) -> AppResult<Option<Uuid>> {
    id.map(|id| parse_id(id, arg)).transpose()
}
