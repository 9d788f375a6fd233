//! Test doubles of a backend: a double wraps the real local backend in a field `inner`,
//! implements [`Lifecycle`](sandboxql::backend::Lifecycle) itself (the part a test bends)
//! and forwards everything else with [`forward_to_inner!`].

/// Implements `Exec`, `Files` and `Backend` for `$double` by forwarding to `self.inner`.
#[macro_export]
macro_rules! forward_to_inner {
    ($double:ty) => {
        #[async_trait::async_trait]
        impl sandboxql::backend::Exec for $double {
            async fn exec(
                &self,
                id: &sandboxql::backend::ExternalId,
                req: sandboxql::backend::exec::ExecRequest,
            ) -> sandboxql::error::AppResult<sandboxql::backend::exec::ExecHandle> {
                self.inner.exec(id, req).await
            }
            fn runs_as_root(&self) -> bool {
                self.inner.runs_as_root()
            }
            fn gateway_env(&self) -> Vec<(String, String)> {
                self.inner.gateway_env()
            }
            fn set_sandbox_env(&self, env: std::sync::Arc<dyn sandboxql::backend::sandbox_env::SandboxEnv>) {
                self.inner.set_sandbox_env(env)
            }
        }

        #[async_trait::async_trait]
        impl sandboxql::backend::Files for $double {
            async fn walk(
                &self,
                id: &sandboxql::backend::ExternalId,
                path: &sandboxql::backend::files::WorkspacePath,
                opts: sandboxql::backend::files::WalkOptions,
            ) -> sandboxql::error::AppResult<sandboxql::backend::files::Walk> {
                self.inner.walk(id, path, opts).await
            }
            async fn stat(
                &self,
                id: &sandboxql::backend::ExternalId,
                path: &sandboxql::backend::files::WorkspacePath,
            ) -> sandboxql::error::AppResult<Option<sandboxql::backend::files::FileEntry>> {
                self.inner.stat(id, path).await
            }
            async fn read_file(
                &self,
                id: &sandboxql::backend::ExternalId,
                path: &sandboxql::backend::files::WorkspacePath,
                max_bytes: u64,
            ) -> sandboxql::error::AppResult<sandboxql::backend::files::FileBytes> {
                self.inner.read_file(id, path, max_bytes).await
            }
            async fn write_file(
                &self,
                id: &sandboxql::backend::ExternalId,
                path: &sandboxql::backend::files::WorkspacePath,
                data: Vec<u8>,
            ) -> sandboxql::error::AppResult<sandboxql::backend::files::FileEntry> {
                self.inner.write_file(id, path, data).await
            }
            async fn write_stream(
                &self,
                id: &sandboxql::backend::ExternalId,
                path: &sandboxql::backend::files::WorkspacePath,
                body: sandboxql::storage::Upload,
            ) -> sandboxql::error::AppResult<sandboxql::backend::files::FileEntry> {
                self.inner.write_stream(id, path, body).await
            }
            async fn make_dir(
                &self,
                id: &sandboxql::backend::ExternalId,
                path: &sandboxql::backend::files::WorkspacePath,
            ) -> sandboxql::error::AppResult<sandboxql::backend::files::FileEntry> {
                self.inner.make_dir(id, path).await
            }
            async fn move_path(
                &self,
                id: &sandboxql::backend::ExternalId,
                from: &sandboxql::backend::files::WorkspacePath,
                to: &sandboxql::backend::files::WorkspacePath,
            ) -> sandboxql::error::AppResult<sandboxql::backend::files::FileEntry> {
                self.inner.move_path(id, from, to).await
            }
            async fn read_stream(
                &self,
                id: &sandboxql::backend::ExternalId,
                path: &sandboxql::backend::files::WorkspacePath,
            ) -> sandboxql::error::AppResult<sandboxql::storage::Upload> {
                self.inner.read_stream(id, path).await
            }
            async fn set_mode(
                &self,
                id: &sandboxql::backend::ExternalId,
                path: &sandboxql::backend::files::WorkspacePath,
                mode: u32,
            ) -> sandboxql::error::AppResult<()> {
                self.inner.set_mode(id, path, mode).await
            }
            async fn make_symlink(
                &self,
                id: &sandboxql::backend::ExternalId,
                path: &sandboxql::backend::files::WorkspacePath,
                target: &str,
            ) -> sandboxql::error::AppResult<()> {
                self.inner.make_symlink(id, path, target).await
            }
            async fn delete_path(
                &self,
                id: &sandboxql::backend::ExternalId,
                path: &sandboxql::backend::files::WorkspacePath,
                recursive: bool,
            ) -> sandboxql::error::AppResult<()> {
                self.inner.delete_path(id, path, recursive).await
            }
        }

        impl sandboxql::backend::Backend for $double {
            fn watcher(&self) -> Option<&dyn sandboxql::backend::Watch> {
                sandboxql::backend::Backend::watcher(&self.inner)
            }
            fn usage(&self) -> Option<&dyn sandboxql::backend::Usage> {
                sandboxql::backend::Backend::usage(&self.inner)
            }
            fn bounds_report(&self) -> Option<sandboxql::backend::local::bounds::BoundsReport> {
                sandboxql::backend::Backend::bounds_report(&self.inner)
            }
        }
    };
}
