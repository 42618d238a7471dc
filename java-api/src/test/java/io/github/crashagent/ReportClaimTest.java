// SPDX-License-Identifier: Apache-2.0
package io.github.crashagent;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertNotNull;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.attribute.FileTime;
import java.time.Duration;
import java.time.Instant;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

class ReportClaimTest {
    @TempDir
    Path dir;

    @Test
    void aReportIsClaimedOnceUntilReleased() throws Exception {
        Path report = Files.writeString(dir.resolve("crashagent_pid1.json"), "{}");
        ReportClaim first = ReportClaim.take(report, ReportClaim.DEFAULT_STALE_AFTER);
        assertNotNull(first);
        assertEquals(dir.resolve("crashagent_pid1.json.sending"), ReportClaim.claimFile(report));
        assertTrue(Files.exists(ReportClaim.claimFile(report)));
        assertNull(ReportClaim.take(report, ReportClaim.DEFAULT_STALE_AFTER), "held by the first");
        first.release();
        assertFalse(Files.exists(ReportClaim.claimFile(report)));
        ReportClaim again = ReportClaim.take(report, ReportClaim.DEFAULT_STALE_AFTER);
        assertNotNull(again);
        again.release();
    }

    @Test
    void aStaleClaimIsTakenOverAndItsOldHolderDoesNotRemoveTheNewOne() throws Exception {
        Path report = Files.writeString(dir.resolve("crashagent_pid2.json"), "{}");
        ReportClaim died = ReportClaim.take(report, ReportClaim.DEFAULT_STALE_AFTER);
        assertNotNull(died);
        Files.setLastModifiedTime(ReportClaim.claimFile(report), FileTime.from(Instant.now().minus(Duration.ofHours(1))));
        ReportClaim taker = ReportClaim.take(report, Duration.ofMinutes(10));
        assertNotNull(taker, "an hour-old claim is stale");
        died.release();
        assertTrue(Files.exists(ReportClaim.claimFile(report)), "the old holder's release leaves the new claim");
        taker.release();
        assertFalse(Files.exists(ReportClaim.claimFile(report)));
    }

    @Test
    void acknowledgedMeansTheMarkerExists() throws Exception {
        Path report = Files.writeString(dir.resolve("crashagent_pid3.json"), "{}");
        assertFalse(ReportClaim.isAcknowledged(report));
        Files.createFile(dir.resolve("crashagent_pid3.json" + CrashAgent.ACKNOWLEDGED_SUFFIX));
        assertTrue(ReportClaim.isAcknowledged(report));
    }

    @Test
    void aNegativeStaleAgeIsRefusedNamingIt() throws Exception {
        Path report = dir.resolve("crashagent_pid4.json");
        IllegalArgumentException e = assertThrows(IllegalArgumentException.class,
                () -> ReportClaim.take(report, Duration.ofSeconds(-1)));
        assertTrue(e.getMessage().contains("staleAfter"), e.getMessage());
    }
}
