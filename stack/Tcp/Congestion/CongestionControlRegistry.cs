namespace TunStack.Tcp.Congestion;

/// <summary>
/// The congestion control algorithms one stack knows, by name (as Linux's
/// tcp_available_congestion_control): "cubic", "reno" (also "newreno") and "bbr" are registered
/// from the start; <see cref="Register"/> adds more. Names are what TCP_CONGESTION, the settings
/// and <c>tunstack up --congestion</c> take.
/// </summary>
public sealed class CongestionControlRegistry
{
    /// <summary>CUBIC's name (the default).</summary>
    public const string Cubic = "cubic";

    /// <summary>NewReno's name (Linux calls it "reno").</summary>
    public const string Reno = "reno";

    /// <summary>BBR's name.</summary>
    public const string Bbr = "bbr";

    private readonly Dictionary<string, Func<int, CongestionControl>> _factories = new(StringComparer.Ordinal);

    /// <summary>A registry with the built-in algorithms.</summary>
    public CongestionControlRegistry()
    {
        _factories[Cubic] = mss => new CubicCongestionControl(mss);
        _factories[Reno] = mss => new NewRenoCongestionControl(mss);
        _factories["newreno"] = mss => new NewRenoCongestionControl(mss);
        _factories[Bbr] = mss => new BbrCongestionControl(mss);
    }

    /// <summary>The registered names, in no particular order.</summary>
    public IReadOnlyCollection<string> Names => _factories.Keys;

    /// <summary>
    /// Registers (or replaces) the algorithm called <paramref name="name"/>: <paramref name="factory"/>
    /// makes one controller per connection from the MSS. Names are case-sensitive, 1 to 15 characters
    /// of letters, digits, '_' and '-' (Linux's TCP_CA_NAME_MAX is 16 with the terminating zero).
    /// </summary>
    /// <param name="name">The name to select it by.</param>
    /// <param name="factory">Makes a new controller for a connection with the given MSS.</param>
    /// <exception cref="ArgumentException">The name is empty, too long or has other characters.</exception>
    public void Register(string name, Func<int, CongestionControl> factory)
    {
        ArgumentNullException.ThrowIfNull(factory);
        if (!IsValidName(name))
        {
            throw new ArgumentException($"congestion control name '{name}' must be 1 to 15 letters, digits, '_' or '-'", nameof(name));
        }

        _factories[name] = factory;
    }

    /// <summary>True when <paramref name="name"/> is registered.</summary>
    /// <param name="name">A name.</param>
    public bool Contains(string? name) => name is not null && _factories.ContainsKey(name);

    /// <summary>Makes a controller of the algorithm <paramref name="name"/> for a connection with <paramref name="mss"/>.</summary>
    /// <param name="name">A registered name.</param>
    /// <param name="mss">The sender's MSS in bytes.</param>
    /// <exception cref="ArgumentException">No algorithm has that name (Linux: ENOENT).</exception>
    public CongestionControl Create(string name, int mss)
    {
        if (name is null || !_factories.TryGetValue(name, out Func<int, CongestionControl>? factory))
        {
            throw new ArgumentException($"no congestion control called '{name}' (known: {string.Join(", ", _factories.Keys.Order(StringComparer.Ordinal))})", nameof(name));
        }

        CongestionControl controller = factory(mss) ?? throw new InvalidOperationException($"the factory of congestion control '{name}' returned null");
        controller.Name = name;
        return controller;
    }

    /// <summary>The name of a built-in algorithm.</summary>
    /// <param name="algorithm">A built-in (not <see cref="CongestionAlgorithm.Custom"/>).</param>
    /// <exception cref="ArgumentOutOfRangeException">For <see cref="CongestionAlgorithm.Custom"/> or an undefined value.</exception>
    public static string NameOf(CongestionAlgorithm algorithm) => algorithm switch
    {
        CongestionAlgorithm.NewReno => Reno,
        CongestionAlgorithm.Cubic => Cubic,
        CongestionAlgorithm.Bbr => Bbr,
        _ => throw new ArgumentOutOfRangeException(nameof(algorithm), algorithm, "a registered algorithm is chosen by its name"),
    };

    /// <summary>The built-in <paramref name="name"/> stands for, or <see cref="CongestionAlgorithm.Custom"/>.</summary>
    /// <param name="name">A congestion control name.</param>
    public static CongestionAlgorithm AlgorithmOf(string name) => name switch
    {
        Reno or "newreno" => CongestionAlgorithm.NewReno,
        Cubic => CongestionAlgorithm.Cubic,
        Bbr => CongestionAlgorithm.Bbr,
        _ => CongestionAlgorithm.Custom,
    };

    private static bool IsValidName(string? name)
    {
        if (string.IsNullOrEmpty(name) || name.Length > 15)
        {
            return false;
        }

        foreach (char c in name)
        {
            if (!char.IsAsciiLetterOrDigit(c) && c != '_' && c != '-')
            {
                return false;
            }
        }

        return true;
    }
}
