/// Which Framepipe this is: the release number and the git commit it was built from (stamped before every build by
/// the VersionStamp plugin, scripts/version-stamp.sh; "unknown" when built outside a git checkout).
public enum FramepipeVersion {
    public static let number = "0.1.0"
    /// The full commit hash, or "unknown".
    public static let commit = buildCommit
    /// Tracked files differed from `commit` when it was built.
    public static let treeDirty = buildTreeDirty

    /// `framepipe 0.1.0 (commit 1b9acd8c2f3e, modified)`: what `framepipe --version` prints.
    public static var description: String {
        let shortCommit = commit == "unknown" ? commit : String(commit.prefix(12))
        return "framepipe \(number) (commit \(shortCommit)\(treeDirty ? ", modified" : ""))"
    }
}
