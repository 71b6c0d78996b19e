// Network namespaces as `ip netns` manages them: a bind mount of a namespace at /run/netns/NAME.
using TunStack.Tun.Interop;

namespace TunStack.Tun;

/// <summary>
/// A named network namespace (/run/netns/NAME, the same place `ip netns` uses). Work that must
/// happen inside it (creating a TUN device, opening a netlink socket) runs on a short-lived thread
/// that has entered the namespace; descriptors made there keep working from any thread.
/// </summary>
public sealed class NetworkNamespace
{
    /// <summary>Where named namespaces are mounted.</summary>
    public const string RunDirectory = "/run/netns";

    private NetworkNamespace(string name, bool created, string opened)
    {
        Name = name;
        CreatedByUs = created;
        Opened = opened;
    }

    /// <summary>The namespace's name.</summary>
    public string Name { get; }

    /// <summary>True when this process created it.</summary>
    public bool CreatedByUs { get; }

    /// <summary>
    /// What opening it did, for a log line: "created network namespace NAME", or joined it and
    /// who made it (a TunStack process, still running or not, or another tool).
    /// </summary>
    public string Opened { get; }

    /// <summary>Path of the namespace's bind mount.</summary>
    public string Path => System.IO.Path.Combine(RunDirectory, Name);

    /// <summary>True when a namespace of that name exists.</summary>
    public static bool Exists(string name) => File.Exists(System.IO.Path.Combine(RunDirectory, name));

    /// <summary>Checks a namespace name: 1-64 characters of letters, digits, '-', '_', '.'.</summary>
    public static bool IsValidName(string? name)
        => !string.IsNullOrEmpty(name) && name.Length <= 64 && name != "." && name != ".."
           && name.All(c => char.IsAsciiLetterOrDigit(c) || c is '-' or '_' or '.');

    /// <summary>
    /// Opens the namespace, creating it first when it does not exist, and records this process as
    /// one of its users (see <see cref="Leave"/>). Needs CAP_SYS_ADMIN; without it a
    /// <see cref="TunPermissionException"/> says so.
    /// </summary>
    public static NetworkNamespace OpenOrCreate(string name)
    {
        if (!IsValidName(name))
        {
            throw new TunException($"invalid network namespace name '{name}' (1-64 characters: letters, digits, '-', '_', '.')");
        }

        using SafeFileDescriptor records = NamespaceRecord.Lock(name);
        NamespaceRecord.Sweep();
        NamespaceRecord record = NamespaceRecord.Read(name);
        string opened;
        bool created = !Exists(name);
        if (created)
        {
            Create(name);
            record = NamespaceRecord.MadeByThisProcess(name);
            opened = $"created network namespace {name}";
        }
        else if (record.MadeBy is not { } maker)
        {
            opened = $"joined network namespace {name} (made outside TunStack; it stays when TunStack leaves)";
        }
        else if (record.Users.Count > 0)
        {
            opened = $"joined network namespace {name} (made by tunstack PID {maker.Pid}; in use by PID {string.Join(", ", record.Users.Select(u => u.Pid).Distinct())})";
        }
        else
        {
            opened = $"joined network namespace {name} (left by tunstack PID {maker.Pid}, which is no longer running; removed when the last TunStack process leaves it)";
        }

        record.Users.Add(ProcessIdentity.Current);
        try
        {
            record.Write();
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException)
        {
            if (created)
            {
                Delete(name);
            }

            throw new TunException($"cannot record the use of network namespace {name} in {NamespaceRecord.Directory}: {e.Message}", e);
        }

        return new NetworkNamespace(name, created, opened);
    }

    // An existing namespace to look into without joining it (nothing is recorded).
    internal static NetworkNamespace Existing(string name) => new(name, created: false, opened: string.Empty);

    /// <summary>
    /// Ends this process's use of the namespace. The namespace is removed when a TunStack process
    /// made it (this one or one that has stopped) and no other running TunStack process uses it;
    /// a namespace made by another tool is left as it was. Returns what was done, for a log line.
    /// </summary>
    public string Leave()
    {
        using SafeFileDescriptor records = NamespaceRecord.Lock(Name);
        NamespaceRecord record = NamespaceRecord.Read(Name);
        record.Users.Remove(ProcessIdentity.Current);
        if (record.Users.Count > 0)
        {
            record.Write();
            return $"left network namespace {Name}: still used by tunstack PID {string.Join(", ", record.Users.Select(u => u.Pid).Distinct())}, which removes it when it leaves last";
        }

        record.Delete();
        if (record.MadeBy is null)
        {
            return $"left network namespace {Name} as it was found (made outside TunStack)";
        }

        if (!Exists(Name))
        {
            return $"left network namespace {Name} (someone else has already deleted it)";
        }

        Delete();
        return $"removed network namespace {Name}";
    }

    private static void Create(string name)
    {
        Directory.CreateDirectory(RunDirectory);
        string path = System.IO.Path.Combine(RunDirectory, name);
        int fd = Libc.Open(path, Libc.O_RDONLY | Libc.O_CREAT | Libc.O_CLOEXEC, 0);
        if (fd < 0)
        {
            int errno = Libc.LastError;
            throw Failure($"cannot create {path}", errno);
        }

        Libc.Close(fd);
        int error = RunOnThread(() =>
        {
            // A fresh namespace for this thread only, then pinned by a bind mount of its handle.
            if (Libc.Unshare(Libc.CLONE_NEWNET) != 0)
            {
                return Libc.LastError;
            }

            return Libc.Mount($"/proc/thread-self/ns/net", path, "none", Libc.MS_BIND, 0) == 0 ? 0 : Libc.LastError;
        });
        if (error != 0)
        {
            File.Delete(path);
            throw Failure($"cannot create network namespace {name}", error);
        }

        PublishToParentMounts(name, path);
    }

    // Where a namespace this process made was pinned a second time: the parent's mount namespace.
    private static readonly Dictionary<string, string> s_publishedIn = new();

    // Under `ip netns exec OTHER cmd` (which gives cmd a mount namespace of its own, a slave of the
    // caller's), the bind mount that pins a new namespace exists only in this process's mount
    // namespace: `ip netns exec NAME` in the caller's shell finds an empty file. The pin is repeated
    // in the parent's mount namespace, where `ip netns add` run by the caller would have made it.
    private static void PublishToParentMounts(string name, string path)
    {
        string? parentMounts = ParentMountNamespace();
        if (parentMounts is null)
        {
            return;
        }

        int fd = Libc.Open(path, Libc.O_RDONLY | Libc.O_CLOEXEC, 0);
        if (fd < 0)
        {
            return;
        }

        try
        {
            if (RunTool("nsenter", $"--mount={parentMounts}", "--", "mount", "--no-canonicalize", "--bind", $"/proc/{Environment.ProcessId}/fd/{fd}", path))
            {
                lock (s_publishedIn)
                {
                    s_publishedIn[name] = parentMounts;
                }
            }
        }
        finally
        {
            Libc.Close(fd);
        }
    }

    // The parent process's mount namespace when it is not this process's own (else null).
    private static string? ParentMountNamespace()
    {
        try
        {
            string stat = File.ReadAllText("/proc/self/stat");
            string[] fields = stat[(stat.LastIndexOf(')') + 2)..].Split(' ');
            string parent = $"/proc/{fields[1]}/ns/mnt";
            string? theirs = new FileInfo(parent).LinkTarget;
            string? ours = new FileInfo("/proc/self/ns/mnt").LinkTarget;
            return theirs is not null && ours is not null && theirs != ours ? parent : null;
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException or IndexOutOfRangeException)
        {
            return null;
        }
    }

    private static bool RunTool(string file, params string[] args)
    {
        try
        {
            var start = new System.Diagnostics.ProcessStartInfo(file) { RedirectStandardError = true, RedirectStandardOutput = true };
            foreach (string a in args)
            {
                start.ArgumentList.Add(a);
            }

            using var process = System.Diagnostics.Process.Start(start)!;
            process.StandardOutput.ReadToEnd();
            process.StandardError.ReadToEnd();
            return process.WaitForExit(10_000) && process.ExitCode == 0;
        }
        catch (System.ComponentModel.Win32Exception)
        {
            return false; // no nsenter: the namespace is seen from this mount namespace only
        }
    }

    /// <summary>Runs <paramref name="action"/> on a thread inside the namespace and returns its result.</summary>
    public T Run<T>(Func<T> action)
    {
        string path = Path;
        Exception? failure = null;
        T result = default!;
        int error = RunOnThread(() =>
        {
            int fd = Libc.Open(path, Libc.O_RDONLY | Libc.O_CLOEXEC, 0);
            if (fd < 0)
            {
                return Libc.LastError;
            }

            try
            {
                if (Libc.SetNamespace(fd, Libc.CLONE_NEWNET) != 0)
                {
                    return Libc.LastError;
                }
            }
            finally
            {
                Libc.Close(fd);
            }

            try
            {
                result = action();
            }
            catch (Exception e)
            {
                failure = e;
            }

            return 0;
        });
        if (error != 0)
        {
            throw Failure($"cannot enter network namespace {Name}", error);
        }

        if (failure is not null)
        {
            System.Runtime.ExceptionServices.ExceptionDispatchInfo.Throw(failure);
        }

        return result;
    }

    /// <summary>
    /// Deletes the namespace (unmount and remove its file) whoever uses it; <see cref="Leave"/>
    /// is the considerate way. Processes still inside keep it alive until they exit.
    /// </summary>
    public void Delete() => Delete(Name);

    private static void Delete(string name)
    {
        string path = System.IO.Path.Combine(RunDirectory, name);
        string? published;
        lock (s_publishedIn)
        {
            s_publishedIn.Remove(name, out published);
        }

        if (published is not null && File.Exists(published))
        {
            RunTool("nsenter", $"--mount={published}", "--", "umount", "--lazy", path);
        }

        Libc.Unmount(path, Libc.MNT_DETACH);
        File.Delete(path);
    }

    // Creating, entering and mounting namespaces needs CAP_SYS_ADMIN (and root's /run).
    private static TunException Failure(string what, int errno)
        => errno is Libc.EPERM or Libc.EACCES
            ? new TunPermissionException(TunException.CapabilityAdvice(what.Replace("cannot ", string.Empty, StringComparison.Ordinal), "CAP_SYS_ADMIN") + $" ({Libc.Name(errno)})", "CAP_SYS_ADMIN", errno)
            : new TunException($"{what}: {Libc.Describe(errno)}", errno);

    // Namespace changes affect only the calling thread, so they happen on a thread of their own
    // that ends afterwards; the rest of the process never changes namespace.
    private static int RunOnThread(Func<int> body)
    {
        int result = 0;
        var thread = new Thread(() => result = body()) { IsBackground = true, Name = "netns" };
        thread.Start();
        thread.Join();
        return result;
    }
}
