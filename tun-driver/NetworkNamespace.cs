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

    private NetworkNamespace(string name, bool created)
    {
        Name = name;
        CreatedByUs = created;
    }

    /// <summary>The namespace's name.</summary>
    public string Name { get; }

    /// <summary>True when this process created it (and so should delete it).</summary>
    public bool CreatedByUs { get; }

    /// <summary>Path of the namespace's bind mount.</summary>
    public string Path => System.IO.Path.Combine(RunDirectory, Name);

    /// <summary>True when a namespace of that name exists.</summary>
    public static bool Exists(string name) => File.Exists(System.IO.Path.Combine(RunDirectory, name));

    /// <summary>Checks a namespace name: 1-64 characters of letters, digits, '-', '_', '.'.</summary>
    public static bool IsValidName(string? name)
        => !string.IsNullOrEmpty(name) && name.Length <= 64 && name != "." && name != ".."
           && name.All(c => char.IsAsciiLetterOrDigit(c) || c is '-' or '_' or '.');

    /// <summary>Opens the namespace, creating it first when it does not exist.</summary>
    public static NetworkNamespace OpenOrCreate(string name)
    {
        if (!IsValidName(name))
        {
            throw new TunException($"invalid network namespace name '{name}' (1-64 characters: letters, digits, '-', '_', '.')");
        }

        if (Exists(name))
        {
            return new NetworkNamespace(name, created: false);
        }

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

        return new NetworkNamespace(name, created: true);
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

    /// <summary>Deletes the namespace (unmount and remove its file). Processes still inside keep it alive until they exit.</summary>
    public void Delete()
    {
        Libc.Unmount(Path, Libc.MNT_DETACH);
        File.Delete(Path);
    }

    // Creating, entering and mounting namespaces needs CAP_SYS_ADMIN (and root's /run).
    private static TunException Failure(string what, int errno)
        => errno is Libc.EPERM or Libc.EACCES
            ? new TunException(TunException.CapabilityAdvice(what.Replace("cannot ", string.Empty, StringComparison.Ordinal), "CAP_SYS_ADMIN") + $" ({Libc.Name(errno)})", errno)
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
