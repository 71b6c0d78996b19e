// Which TunStack processes use a named network namespace, and whether a TunStack process made it.
using TunStack.Tun.Interop;

namespace TunStack.Tun;

/// <summary>
/// The record TunStack keeps of one named network namespace, so that a namespace is removed only
/// when a TunStack process made it and no TunStack process uses it any more. The record is the
/// file /run/tunstack/netns/NAME: a line "made-by PID STARTTIME" when a TunStack process created
/// the namespace (no such line when it was found, made by ip netns or another tool), then a line
/// "user PID STARTTIME" per use. Records are read and written only while holding an exclusive
/// lock (flock) on /run/tunstack/netns.lock; users whose process has exited do not count, so a
/// process killed with SIGKILL is forgotten the next time the record is read.
/// </summary>
internal sealed class NamespaceRecord
{
    /// <summary>Where the records are.</summary>
    public const string Directory = "/run/tunstack/netns";

    private const string LockPath = "/run/tunstack/netns.lock";

    private NamespaceRecord(string name) => Name = name;

    /// <summary>The namespace's name.</summary>
    public string Name { get; }

    /// <summary>The TunStack process that created the namespace, or null when it was found.</summary>
    public ProcessIdentity? MadeBy { get; private set; }

    /// <summary>The running TunStack processes that use the namespace, one entry per use.</summary>
    public List<ProcessIdentity> Users { get; } = new();

    private string FilePath => Path.Combine(Directory, Name);

    /// <summary>
    /// Takes the lock that guards every record (held until the handle is disposed). Without
    /// permission to write /run/tunstack the process could not manage a namespace either, so the
    /// failure names CAP_SYS_ADMIN.
    /// </summary>
    public static SafeFileDescriptor Lock(string name)
    {
        try
        {
            System.IO.Directory.CreateDirectory(Directory);
        }
        catch (UnauthorizedAccessException)
        {
            throw Denied(name, Libc.EACCES);
        }

        int fd = Libc.Open(LockPath, Libc.O_RDWR | Libc.O_CREAT | Libc.O_CLOEXEC, 0x180); // 0600
        if (fd < 0)
        {
            int errno = Libc.LastError;
            throw errno is Libc.EACCES or Libc.EPERM ? Denied(name, errno) : new TunException($"cannot open {LockPath}: {Libc.Describe(errno)}", errno);
        }

        var handle = new SafeFileDescriptor(fd);
        while (Libc.Flock(fd, Libc.LOCK_EX) != 0)
        {
            int errno = Libc.LastError;
            if (errno != Libc.EINTR)
            {
                handle.Dispose();
                throw new TunException($"cannot lock {LockPath}: {Libc.Describe(errno)}", errno);
            }
        }

        return handle;
    }

    /// <summary>Reads the record of <paramref name="name"/> (an empty one when there is none), keeping only users that still run.</summary>
    public static NamespaceRecord Read(string name)
    {
        var record = new NamespaceRecord(name);
        if (!File.Exists(record.FilePath))
        {
            return record;
        }

        foreach (string line in File.ReadAllLines(record.FilePath))
        {
            int space = line.IndexOf(' ', StringComparison.Ordinal);
            if (space < 0 || !ProcessIdentity.TryParse(line[(space + 1)..], out ProcessIdentity process))
            {
                continue;
            }

            switch (line[..space])
            {
                case "made-by":
                    record.MadeBy = process;
                    break;
                case "user" when process.IsRunning:
                    record.Users.Add(process);
                    break;
            }
        }

        return record;
    }

    /// <summary>
    /// Removes the records nobody needs any more (call with the lock held): those with no running
    /// user whose namespace no longer exists. A record of a namespace that still exists stays, so
    /// that whoever joins it next knows whether TunStack made it.
    /// </summary>
    public static void Sweep()
    {
        if (!System.IO.Directory.Exists(Directory))
        {
            return;
        }

        foreach (string file in System.IO.Directory.GetFiles(Directory).Where(f => !f.EndsWith(".new", StringComparison.Ordinal)))
        {
            string name = Path.GetFileName(file);
            if (Read(name).Users.Count == 0 && !NetworkNamespace.Exists(name))
            {
                File.Delete(file);
            }
        }
    }

    /// <summary>A new record for a namespace this process has just created.</summary>
    public static NamespaceRecord MadeByThisProcess(string name) => new(name) { MadeBy = ProcessIdentity.Current };

    /// <summary>Writes the record (replacing the file as a whole).</summary>
    public void Write()
    {
        var lines = new List<string>();
        if (MadeBy is { } maker)
        {
            lines.Add($"made-by {maker}");
        }

        lines.AddRange(Users.Select(u => $"user {u}"));
        string temporary = FilePath + ".new";
        File.WriteAllLines(temporary, lines);
        File.Move(temporary, FilePath, overwrite: true);
    }

    /// <summary>Removes the record.</summary>
    public void Delete() => File.Delete(FilePath);

    private static TunPermissionException Denied(string name, int errno)
        => new(TunException.CapabilityAdvice($"using network namespace {name}", "CAP_SYS_ADMIN") + $" ({Libc.Name(errno)})", "CAP_SYS_ADMIN", errno);
}
