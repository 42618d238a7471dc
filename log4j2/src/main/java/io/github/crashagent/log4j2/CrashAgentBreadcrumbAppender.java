// SPDX-License-Identifier: Apache-2.0
package io.github.crashagent.log4j2;

import io.github.crashagent.CrashAgent;
import org.apache.logging.log4j.Level;
import org.apache.logging.log4j.Marker;
import org.apache.logging.log4j.MarkerManager;
import org.apache.logging.log4j.core.Appender;
import org.apache.logging.log4j.core.Core;
import org.apache.logging.log4j.core.Filter;
import org.apache.logging.log4j.core.LogEvent;
import org.apache.logging.log4j.core.appender.AbstractAppender;
import org.apache.logging.log4j.core.config.Property;
import org.apache.logging.log4j.core.config.plugins.Plugin;
import org.apache.logging.log4j.core.config.plugins.PluginAttribute;
import org.apache.logging.log4j.core.config.plugins.PluginElement;
import org.apache.logging.log4j.core.config.plugins.PluginFactory;

/**
 * Turns log events into crash-report breadcrumbs ({@link CrashAgent#breadcrumb}): those at
 * {@code level} or more severe (default {@code WARN}), and, when {@code marker} is set, those
 * carrying that marker (or a child of it) at any level. Each becomes
 * {@code "<LEVEL> <logger> - <message>"}, cut to the breadcrumb's 192 bytes. Without the agent it
 * does nothing. It writes straight into the agent's memory, so it may sit behind no async
 * appender and still be in the report.
 *
 * <pre>{@code
 * <Configuration packages="io.github.crashagent.log4j2">
 *   <Appenders>
 *     <CrashAgentBreadcrumbs name="crumbs" level="WARN" marker="BREADCRUMB"/>
 *   </Appenders>
 *   <Loggers>
 *     <Root level="info"><AppenderRef ref="crumbs"/></Root>
 *   </Loggers>
 * </Configuration>
 * }</pre>
 */
@Plugin(name = "CrashAgentBreadcrumbs", category = Core.CATEGORY_NAME, elementType = Appender.ELEMENT_TYPE,
        printObject = true)
public final class CrashAgentBreadcrumbAppender extends AbstractAppender {
    private final Level level;
    private final Marker marker;

    private CrashAgentBreadcrumbAppender(String name, Filter filter, Level level, Marker marker) {
        super(name, filter, null, true, Property.EMPTY_ARRAY);
        this.level = level;
        this.marker = marker;
    }

    /**
     * @param level  the least severe level recorded; default WARN
     * @param marker a marker whose events are recorded at any level; none by default
     */
    @PluginFactory
    public static CrashAgentBreadcrumbAppender create(@PluginAttribute("name") String name,
                                                      @PluginAttribute("level") String level,
                                                      @PluginAttribute("marker") String marker,
                                                      @PluginElement("Filter") Filter filter) {
        if (name == null || name.isEmpty()) {
            throw new IllegalArgumentException("CrashAgentBreadcrumbs: attribute 'name' is required");
        }
        Level threshold = Level.WARN;
        if (level != null) {
            threshold = Level.getLevel(level.trim().toUpperCase(java.util.Locale.ROOT));
            if (threshold == null) {
                throw new IllegalArgumentException("CrashAgentBreadcrumbs '" + name + "': attribute 'level' is '" + level
                        + "'; allowed: OFF, FATAL, ERROR, WARN, INFO, DEBUG, TRACE, ALL or a custom level (default WARN)");
            }
        }
        return new CrashAgentBreadcrumbAppender(name, filter, threshold,
                marker == null || marker.isEmpty() ? null : MarkerManager.getMarker(marker));
    }

    /** Whether this appender turns the event into a breadcrumb. */
    boolean records(LogEvent event) {
        if (event.getLevel().isMoreSpecificThan(level)) {
            return true;
        }
        return marker != null && event.getMarker() != null && event.getMarker().isInstanceOf(marker);
    }

    @Override
    public void append(LogEvent event) {
        if (records(event)) {
            CrashAgent.breadcrumb(event.getLevel().name() + " " + event.getLoggerName() + " - "
                    + event.getMessage().getFormattedMessage());
        }
    }
}
