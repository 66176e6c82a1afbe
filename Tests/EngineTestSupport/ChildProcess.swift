import Foundation

#if canImport(Glibc)
    import Glibc
#endif

/// Waits for a child `Process` without trusting Foundation alone to notice its exit: under load a
/// test once sat in `waitUntilExit` for 18 minutes beside its exited, never reaped (defunct) child.
/// Polls `isRunning`, and also asks the kernel with `waitid(…, WNOWAIT)` — which sees an exited
/// child without reaping it, so Foundation can still reap it — and takes the status from there if
/// Foundation has not caught up. Past `timeout` the child is killed and 124 returned (as
/// `timeout(1)` does), so a hung child fails its test instead of hanging the suite.
public enum ChildProcess {
    public static func waitForExit(_ process: Process, timeout: TimeInterval = 900) -> Int32 {
        let pid = process.processIdentifier
        let deadline = Date().addingTimeInterval(timeout)
        var exitedSince: Date?
        while Date() < deadline {
            if !process.isRunning { return process.terminationStatus }
            var info = siginfo_t()
            if waitid(P_PID, id_t(pid), &info, WEXITED | WNOHANG | WNOWAIT) == 0, info._sifields._sigchld.si_pid == pid {
                // Exited: give Foundation a second to reap it and report, then answer ourselves.
                let since = exitedSince ?? Date()
                exitedSince = since
                if Date().timeIntervalSince(since) > 1 {
                    let status = info._sifields._sigchld.si_status
                    return info.si_code == CLD_EXITED ? status : 128 + status
                }
            }
            usleep(2_000)
        }
        kill(pid, SIGKILL)
        return 124
    }
}
