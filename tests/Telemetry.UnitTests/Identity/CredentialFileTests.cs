using Telemetry.Domain.Identity;

namespace Telemetry.UnitTests.Identity;

/// <summary>The credential store's format: hashes that verify, attributes, and errors that name their line.</summary>
public sealed class CredentialFileTests
{
    static readonly PasswordHash Hash = PasswordHash.Create("secret", PasswordHash.MinimumIterations);

    [Fact]
    public void A_created_hash_verifies_its_password_only_and_survives_a_round_trip_through_its_text()
    {
        Assert.True(Hash.Verify("secret"));
        Assert.False(Hash.Verify("Secret"));
        Assert.StartsWith($"$pbkdf2-sha512$i={PasswordHash.MinimumIterations}$", Hash.Text, StringComparison.Ordinal);
        Assert.True(PasswordHash.TryParse(Hash.Text, out var read, out _));
        Assert.True(read!.Verify("secret"));
        Assert.False(read.IsWeak);
        Assert.NotEqual(Hash.Text, PasswordHash.Create("secret", PasswordHash.MinimumIterations).Text); // a salt per entry
    }

    [Fact]
    public void A_password_followed_by_NULs_does_not_verify_although_HMAC_pads_its_key_with_zero_bytes()
    {
        Assert.False(Hash.Verify("secret\0"));
        Assert.False(Hash.Verify("secret\0\0\0"));
        Assert.True(Hash.Verify("secret"));
        Assert.Throws<ArgumentException>(() => PasswordHash.Create("secret\0", PasswordHash.MinimumIterations));
    }

    [Fact]
    public void Fewer_iterations_than_the_minimum_are_not_written()
    {
        Assert.Throws<ArgumentOutOfRangeException>(() => PasswordHash.Create("secret", PasswordHash.MinimumIterations - 1));
    }

    [Fact]
    public void Entries_carry_their_sensors_and_roles_and_default_to_their_own_sensor()
    {
        var entries = CredentialFile.Parse(string.Join('\n',
            "# devices",
            "",
            $"freezer-1:{Hash.Text}",
            $"gw:{Hash.Text}:sensors=a,b",
            $"lora:{Hash.Text}:sensors=*",
            $"bms:{Hash.Text}:roles=alerts;sensors=",
            "cert-9:!:sensors=cert-9,cert-9b"));

        Assert.True(entries["freezer-1"].MayPublishFor("freezer-1"));
        Assert.False(entries["freezer-1"].MayPublishFor("freezer-2"));
        Assert.True(entries["gw"].MayPublishFor("b"));
        Assert.False(entries["gw"].MayPublishFor("gw"));
        Assert.True(entries["lora"].MayPublishFor("anything"));
        Assert.True(entries["bms"].HasRole(CredentialEntry.AlertsRole));
        Assert.False(entries["gw"].HasRole(CredentialEntry.AlertsRole));
        Assert.False(entries["cert-9"].Hash.AllowsPasswordLogin);
        Assert.False(entries["cert-9"].Hash.Verify(""));
        Assert.Equal($"gw:{Hash.Text}:sensors=a,b", CredentialFile.FormatLine(entries["gw"]));
    }

    [Theory]
    [InlineData("no-colon", 3, "identity:hash")]
    [InlineData("dev:plaintext", 3, "not a password hash")]
    [InlineData("dev:$7$101$!!!$abc", 3, "base64")]
    [InlineData("dev:!:colour=red", 3, "unknown attribute")]
    [InlineData("dev:!:roles=admin", 3, "unknown role")]
    [InlineData("de v:!", 3, "white space")]
    [InlineData("a:!\nb:!\na:!", 5, "listed twice")]
    public void A_bad_line_is_refused_with_its_number(string body, int line, string message)
    {
        var error = Assert.Throws<CredentialFileException>(() => CredentialFile.Parse("# header\n\n" + body));
        Assert.Equal(line, error.Line);
        Assert.Contains(message, error.Message, StringComparison.Ordinal);
    }
}
