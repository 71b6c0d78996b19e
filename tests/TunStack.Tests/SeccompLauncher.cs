namespace TunStack.Tests;

/// <summary>
/// The C source of a small program that installs a seccomp filter on itself and then runs its
/// arguments as a command under it (exit 125 when the filter cannot be installed, 126 when the
/// command cannot be run): how the systemd tests play a unit's MemoryDenyWriteExecute= and
/// SystemCallFilter= without systemd.
/// </summary>
internal static class SeccompLauncher
{
    /// <summary>
    /// The program, with <paramref name="filter"/> as the body of its <c>struct sock_filter</c>
    /// array (starting after the load of the system call number); <paramref name="preamble"/> adds
    /// includes and macros the filter needs.
    /// </summary>
    public static string Source(string preamble, string filter) => $$"""
#include <linux/filter.h>
#include <linux/seccomp.h>
#include <errno.h>
#include <stddef.h>
#include <stdio.h>
#include <sys/prctl.h>
#include <sys/syscall.h>
#include <unistd.h>
{{preamble}}
int main(int argc, char **argv)
{
    struct sock_filter code[] = {
        BPF_STMT(BPF_LD | BPF_W | BPF_ABS, offsetof(struct seccomp_data, nr)),
{{filter}}
    };
    struct sock_fprog program = { sizeof code / sizeof code[0], code };
    if (argc < 2 || prctl(PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0) != 0 || prctl(PR_SET_SECCOMP, SECCOMP_MODE_FILTER, &program) != 0)
    {
        perror("seccomp");
        return 125;
    }

    execvp(argv[1], argv + 1);
    perror("exec");
    return 126;
}

""";
}
